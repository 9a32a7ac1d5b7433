//! The EDS/DCF parser on the forms CiA 306 allows and real files use, and its located errors.

use linevisor_canopen::eds::{AccessType, DataType, Eds, EdsError, Number, ObjectKind, Value};

fn parse(text: &str) -> Eds {
    Eds::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{}", e.located("test.eds")))
}

fn error(text: &str) -> EdsError {
    Eds::parse(text.as_bytes()).expect_err("a malformed file")
}

#[test]
fn var_array_and_record_objects() {
    let eds = parse(
        "[6041]\nParameterName=Statusword\nObjectType=0x7\nDataType=0x0006\nAccessType=ro\nPDOMapping=1\n\
         [1018]\nParameterName=Identity\nObjectType=0x9\nSubNumber=2\n\
         [1018sub0]\nDataType=0x0005\nAccessType=ro\nDefaultValue=1\n\
         [1018sub1]\nParameterName=Vendor-ID\nDataType=0x0007\nAccessType=ro\nDefaultValue=0x0000009A\n\
         [6099]\nObjectType=ARRAY\n\
         [6099sub1]\nDataType=UNSIGNED32\nAccessType=RWW\nDefaultValue=100\nLowLimit=0\nHighLimit=010\n",
    );
    let sw = &eds.objects[&0x6041];
    assert_eq!(
        (sw.kind, sw.name.as_str(), sw.line),
        (ObjectKind::Var, "Statusword", 1)
    );
    let s = &sw.subs[&0];
    assert_eq!(
        (s.data_type, s.access, s.pdo_mapping),
        (DataType(6), AccessType::Ro, true)
    );
    assert_eq!(s.default, None);
    assert_eq!(eds.objects[&0x1018].kind, ObjectKind::Record);
    assert_eq!(
        eds.sub(0x1018, 1).unwrap().number(),
        Some(Number::plain(0x9A))
    );
    let speed = eds.sub(0x6099, 1).unwrap();
    assert_eq!(eds.objects[&0x6099].kind, ObjectKind::Array);
    assert_eq!(
        (speed.data_type, speed.access),
        (DataType(7), AccessType::Rww)
    );
    assert_eq!(
        (speed.low_limit, speed.high_limit),
        (Some(Number::plain(0)), Some(Number::plain(8)))
    );
}

#[test]
fn compact_sub_objects_take_names_and_values_from_their_sections() {
    let eds = parse(
        "[1016]\nParameterName=Consumer heartbeat time\nObjectType=0x8\nDataType=0x0007\nAccessType=rw\n\
         CompactSubObj=3\n[1016Name]\nNrOfEntries=1\n2=Master\n[1016Value]\nNrOfEntries=1\n1=0x00010064\n",
    );
    let o = &eds.objects[&0x1016];
    assert_eq!(o.subs.len(), 4);
    assert_eq!(o.subs[&0].number(), Some(Number::plain(3)));
    assert_eq!(o.subs[&0].access, AccessType::Ro);
    assert_eq!(o.subs[&1].number(), Some(Number::plain(0x0001_0064)));
    assert_eq!(o.subs[&2].name, "Master");
    assert_eq!(o.subs[&3].name, "Consumer heartbeat time3");
    assert_eq!(o.subs[&3].access, AccessType::Rw);
}

#[test]
fn a_dcf_value_wins_over_the_default_and_node_ids_resolve() {
    let eds = parse(
        "[DeviceComissioning]\nNodeID=0x05\nNodeName=Elmo\n\
         [1800]\nObjectType=0x9\n\
         [1800sub1]\nDataType=0x0007\nAccessType=rw\nDefaultValue=$NODEID+0x80000180\nParameterValue=$NODEID + 0x180\n\
         [1008]\nDataType=0x0009\nAccessType=const\nDefaultValue=Gold Drive\n",
    );
    assert_eq!(eds.node_id, Some(5));
    let cob = eds.sub(0x1800, 1).unwrap();
    assert_eq!(
        cob.default,
        Some(Value::Int(Number {
            base: 0x8000_0180,
            plus_node_id: true
        }))
    );
    assert_eq!(cob.number().unwrap().resolve(5), 0x185);
    assert_eq!(
        eds.sub(0x1008, 0).unwrap().value(),
        Some(&Value::Text("Gold Drive".into()))
    );
}

#[test]
fn sections_and_keys_in_any_case_and_missing_sections() {
    let eds = parse(
        "; no [FileInfo], no [DeviceInfo]\n[1a00SUB0]\nDATATYPE=0x0005\naccesstype=Const\ndefaultvalue=0\n[1A00]\nobjecttype=0x9\n",
    );
    assert_eq!(eds.sub(0x1A00, 0).unwrap().access, AccessType::Const);
    assert_eq!(eds.device.vendor_name, None);
    let eds = parse("[DEVICEINFO]\nVendorname=AMD ; the vendor\nVendorNumber=0x586\n");
    assert_eq!(eds.device.vendor_name.as_deref(), Some("AMD"));
    assert_eq!(eds.device.vendor_number, Some(0x586));
}

#[test]
fn oddities_that_do_not_stop_the_parse_are_warnings() {
    let eds = parse(
        "[OptionalObjects]\nSupportedObjects=2\n1=0x6040\n2=0x6041\n[6040]\nDataType=0x0006\nAccessType=rw\n[6041sub1]\nDataType=0x0006\nAccessType=ro\n",
    );
    let lines: Vec<usize> = eds.warnings.iter().map(|w| w.0).collect();
    assert_eq!(lines, vec![4, 8], "{:?}", eds.warnings);
}

#[test]
fn malformed_files_get_located_errors() {
    let cases: [(&str, usize, &str); 10] = [
        ("[6040]\nAccessType=rw\n", 1, "[6040] has no DataType"),
        (
            "[6040]\nDataType=0x0006\nAccessType=readwrite\n",
            3,
            "not an access type",
        ),
        (
            "[6040]\nDataType=0x0006\nAccessType=rw\nDefaultValue=0x10000\n",
            4,
            "does not fit UNSIGNED16",
        ),
        (
            "[6040]\nDataType=0x0006\nAccessType=rw\nDefaultValue=12x\n",
            4,
            "not a number",
        ),
        ("[6040]\nObjectType=0x4\n", 2, "not an object type"),
        (
            "[6040]\nDataType=0x6\nAccessType=rw\n\n[6040]\nDataType=0x6\n",
            5,
            "defined again (first at line 1)",
        ),
        (
            "[6040]\nDataType=0x6\nDataType=0x7\n",
            3,
            "given again with another value",
        ),
        (
            "[6040]\nDataType=0x6\nAccessType=rw\nPDOMapping=2\n",
            4,
            "expected a number 0–1",
        ),
        (
            "[DeviceComissioning]\nNodeID=200\n",
            2,
            "expected a number 0–127",
        ),
        (
            "[1800]\nObjectType=0x9\n[1800sub1]\nDataType=0x7\nAccessType=rw\nDefaultValue=$NODEID+170141183460469231731687303715884105727\n",
            6,
            "does not fit UNSIGNED32",
        ),
    ];
    for (text, line, what) in cases {
        let e = error(text);
        assert_eq!(e.line(), Some(line), "{text:?}: {e}");
        assert!(
            e.located("x.eds").starts_with(&format!("x.eds:{line}: ")),
            "{e:?}"
        );
        assert!(e.to_string().contains(what), "{text:?}: {e}");
    }
}
