//! `[control]` keys that guard the API on the plant network: tokens never cross it in clear
//! text, a client CA needs TLS, allowed host names are names, limits are in range.

use linevisor_config::check_text;

fn diagnostics(control: &str) -> Vec<String> {
    let text = format!("[line]\nname = \"l\"\n\n[control]\n{control}");
    check_text("line.toml", &text, None)
        .diagnostics
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn tokens_over_plain_http_off_loopback_are_refused_unless_said_so() {
    let got = diagnostics("listen = \"0.0.0.0:7010\"\ntokens_file = \"t.toml\"\n");
    assert!(
        got.iter().any(|d| d.starts_with("line.toml:5:")
            && d.contains(
                "control.listen: the API on 0.0.0.0:7010 would send its tokens in clear text"
            )),
        "{got:#?}"
    );
    let tls = "listen = \"0.0.0.0:7010\"\ntokens_file = \"t.toml\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n";
    assert_eq!(diagnostics(tls), Vec::<String>::new());
    let vpn = "listen = \"0.0.0.0:7010\"\ntokens_file = \"t.toml\"\ninsecure_http = true\n";
    assert_eq!(diagnostics(vpn), Vec::<String>::new());
    assert_eq!(
        diagnostics("listen = \"127.0.0.1:7010\"\n"),
        Vec::<String>::new()
    );
}

#[test]
fn each_new_key_is_checked_where_it_stands() {
    let cases = [
        (
            "tls_client_ca = \"ca.pem\"\n",
            "control.tls_client_ca: tls_client_ca needs TLS",
        ),
        (
            "allowed_hosts = [\"http://gw:7010\"]\n",
            "control.allowed_hosts[0]: \"http://gw:7010\" is not a host name",
        ),
        ("max_connections = 2\n", "control.max_connections"),
        ("max_event_streams = 0\n", "control.max_event_streams"),
    ];
    for (text, want) in cases {
        let got = diagnostics(text);
        assert!(
            got.iter().any(|d| d.contains(want)),
            "{text}: no {want:?} in {got:#?}"
        );
    }
    let good = "allowed_hosts = [\"gateway-7.plant.local\"]\nmax_connections = 256\nmax_event_streams = 8\n";
    assert_eq!(diagnostics(good), Vec::<String>::new());
}
