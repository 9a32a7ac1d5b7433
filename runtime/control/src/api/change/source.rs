//! The running config as the integrator wrote it: the text the line was started from (the file
//! or the embedded demo), then each applied text. Add, remove and upgrade edit that text in
//! place (toml_edit), so comments, order and layout survive and `GET /config` checks clean
//! again. Only when no text is known is the running config written out.

use std::sync::Arc;

use linevisor_config::ValidLine;
use linevisor_config::model::{DriveConfig, LineConfig, ProfileRef};
use serde_json::Value as Json;
use toml_edit::{ArrayOfTables, DocumentMut, Item, TableLike, Value};

use crate::error::ApiError;
use crate::state::AppState;

/// The running config and its text: the kept source; else the start text if it checks to what
/// runs; else the running config written out.
pub(super) async fn text_of(s: &AppState) -> Result<(Arc<ValidLine>, Arc<str>), ApiError> {
    let (config, source) = s.line.source();
    if let Some(text) = source {
        return Ok((config, text));
    }
    if let Some(text) = adopt_started(s, &config).await {
        return Ok((config, text));
    }
    let text = written(&config.config)?;
    Ok((config, text.into()))
}

/// Compares the start text (once) with what runs and keeps it as the source if they agree.
/// Callers meanwhile wait for the outcome rather than see the written-out form.
async fn adopt_started(s: &AppState, config: &Arc<ValidLine>) -> Option<Arc<str>> {
    let mut started = s.changes.started.lock().await;
    if let (now, Some(text)) = s.line.source()
        && Arc::ptr_eq(&now, config)
    {
        return Some(text);
    }
    let text = started.take()?;
    let (dir, t) = (s.config_dir.clone(), text.clone());
    let checked = tokio::task::spawn_blocking(move || {
        linevisor_config::check_text("<started>", &t, dir.as_deref())
            .line
            .map(|l| l.config)
    })
    .await
    .ok()??;
    (checked == config.config && s.line.adopt_source(config, text.clone())).then_some(text)
}

/// The running config written out (its text unknown): every default expanded, no comments.
/// The API address is written once (`control.listen` replaces the older `line.api_listen`),
/// and the default profile folder stays implicit (written out, it would have to exist).
pub(super) fn written(config: &LineConfig) -> Result<String, ApiError> {
    let cannot =
        |e: &dyn std::fmt::Display| ApiError::Internal(format!("cannot write the config: {e}"));
    let mut t = toml::Table::try_from(config).map_err(|e| cannot(&e))?;
    if let Some(toml::Value::Table(line)) = t.get_mut("line") {
        if config.control.listen.is_some() {
            line.remove("api_listen");
        }
        if config.line.profile_dirs == ["profiles"] {
            line.remove("profile_dirs");
        }
    }
    toml::to_string(&t).map_err(|e| cannot(&e))
}

fn parse(text: &str) -> Result<DocumentMut, ApiError> {
    text.parse::<DocumentMut>()
        .map_err(|e| ApiError::Internal(format!("the running config's text does not parse: {e}")))
}

/// `text` with `drive` appended as a `[[drive]]` table after the last one, written with the
/// keys the request gave (`given`), in the drive's own types.
pub(super) fn add_drive(text: &str, drive: &DriveConfig, given: &Json) -> Result<String, ApiError> {
    let mut doc = parse(text)?;
    let typed = serde_json::to_value(drive)
        .map_err(|e| ApiError::Internal(format!("cannot write the drive: {e}")))?;
    let (Json::Object(typed), Json::Object(given)) = (typed, given) else {
        return Err(ApiError::BadRequest("drive: expected a JSON object".into()));
    };
    let mut table = toml_edit::Table::new();
    for (k, v) in typed.iter().filter(|(k, _)| given.contains_key(*k)) {
        if let Some(v) = toml_value(v) {
            table.insert(k, Item::Value(v));
        }
    }
    match doc
        .entry("drive")
        .or_insert(Item::ArrayOfTables(ArrayOfTables::new()))
    {
        Item::ArrayOfTables(a) => {
            table.decor_mut().set_prefix("\n");
            a.push(table);
        }
        Item::Value(Value::Array(a)) => a.push(table.into_inline_table()),
        _ => {
            return Err(ApiError::Internal(
                "`drive` in the running config is not a list".into(),
            ));
        }
    }
    Ok(doc.to_string())
}

/// `text` without drive `id` (and whatever comment led into its table).
pub(super) fn remove_drive(text: &str, id: &str) -> Result<String, ApiError> {
    let mut doc = parse(text)?;
    let removed = match doc.get_mut("drive") {
        Some(Item::ArrayOfTables(a)) => {
            let before = a.len();
            a.retain(|t| id_of(t) != Some(id));
            before != a.len()
        }
        Some(Item::Value(Value::Array(a))) => {
            let before = a.len();
            a.retain(|v| v.as_inline_table().and_then(|t| id_of(t)) != Some(id));
            before != a.len()
        }
        _ => false,
    };
    if !removed {
        return Err(not_in_text(id));
    }
    Ok(doc.to_string())
}

/// The running config has drive `id` but its text does not spell it as a table we can edit.
fn not_in_text(id: &str) -> ApiError {
    ApiError::Internal(format!(
        "drive \"{id}\" is not a [[drive]] table of the running config's text; apply an edited config instead"
    ))
}

/// `text` with drive `id` on `profile`; the rest of the drive's table as it was.
pub(super) fn upgrade(text: &str, id: &str, profile: &ProfileRef) -> Result<String, ApiError> {
    let mut doc = parse(text)?;
    let drive = drive_mut(&mut doc, id).ok_or_else(|| not_in_text(id))?;
    match drive.get_mut("profile") {
        Some(p) if p.is_table_like() => {
            set_str(p, "name", &profile.name);
            set_str(p, "version", &profile.version);
        }
        _ => {
            let mut p = toml_edit::InlineTable::new();
            p.insert("name", profile.name.as_str().into());
            p.insert("version", profile.version.as_str().into());
            drive.insert("profile", Item::Value(Value::InlineTable(p)));
        }
    }
    Ok(doc.to_string())
}

fn id_of(t: &dyn TableLike) -> Option<&str> {
    t.get("id").and_then(Item::as_str)
}

fn drive_mut<'a>(doc: &'a mut DocumentMut, id: &str) -> Option<&'a mut dyn TableLike> {
    match doc.get_mut("drive")? {
        Item::ArrayOfTables(a) => a
            .iter_mut()
            .find(|t| id_of(*t) == Some(id))
            .map(|t| t as &mut dyn TableLike),
        Item::Value(Value::Array(a)) => a
            .iter_mut()
            .filter_map(Value::as_inline_table_mut)
            .find(|t| id_of(*t) == Some(id))
            .map(|t| t as &mut dyn TableLike),
        _ => None,
    }
}

/// Sets `key` of table `item` to `value`, keeping the old value's spacing and comment.
fn set_str(item: &mut Item, key: &str, value: &str) {
    let Some(t) = item.as_table_like_mut() else {
        return;
    };
    match t.get_mut(key).and_then(Item::as_value_mut) {
        Some(old) => {
            let decor = old.decor().clone();
            *old = Value::from(value);
            *old.decor_mut() = decor;
        }
        None => {
            t.insert(key, toml_edit::value(value));
        }
    }
}

/// A JSON value as a TOML value (objects inline); `None` for null, which TOML cannot write.
fn toml_value(v: &Json) -> Option<Value> {
    Some(match v {
        Json::Null => return None,
        Json::Bool(b) => Value::from(*b),
        Json::Number(n) => match n.as_i64() {
            Some(i) if !n.is_f64() => Value::from(i),
            _ => Value::from(n.as_f64()?),
        },
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(a) => Value::Array(a.iter().filter_map(toml_value).collect()),
        Json::Object(o) => {
            let mut t = toml_edit::InlineTable::new();
            for (k, v) in o {
                if let Some(v) = toml_value(v) {
                    t.insert(k, v);
                }
            }
            Value::InlineTable(t)
        }
    })
}

#[cfg(test)]
mod tests {
    use linevisor_config::model::ProfileRef;

    use super::{remove_drive, upgrade};

    /// Drives as an inline array at the top (before any table header).
    const INLINE: &str = "drive = [\n  { id = \"a\", profile = { name = \"p\", version = \"1\" } }, # first\n  \
                          { id = \"b\", profile = { name = \"p\", version = \"1\" } },\n]\n\n\
                          [line]\nname = \"x\" # the line\n";

    #[test]
    fn drives_written_inline_are_edited_in_place() {
        let to = ProfileRef {
            name: "p".into(),
            version: "2".into(),
        };
        let up = upgrade(INLINE, "b", &to).unwrap();
        assert!(up.contains("# the line") && up.contains("# first"), "{up}");
        assert!(
            up.contains("{ id = \"b\", profile = { name = \"p\", version = \"2\" } }"),
            "{up}"
        );
        let gone = remove_drive(&up, "a").unwrap();
        assert!(!gone.contains("id = \"a\""), "{gone}");
        assert!(
            gone.contains("# the line") && gone.contains("version = \"2\""),
            "{gone}"
        );
    }

    #[test]
    fn a_drive_missing_from_the_text_is_an_error_not_a_silent_no_op() {
        assert!(remove_drive(INLINE, "c").is_err());
        let to = ProfileRef {
            name: "p".into(),
            version: "2".into(),
        };
        assert!(upgrade(INLINE, "c", &to).is_err());
    }
}
