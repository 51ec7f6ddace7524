//! Time zones by IANA name, with the legacy names banners still print.

use jiff::tz::{TimeZone, TimeZoneDatabase};

use super::reset::ResetError;

/// Legacy (`backward`) names and their canonical zones. Newer distributions ship the old
/// names only in `tzdata-legacy`, yet Claude Code prints them (`Asia/Calcutta`).
const ALIASES: &[(&str, &str)] = &[
    ("Asia/Calcutta", "Asia/Kolkata"),
    ("Asia/Saigon", "Asia/Ho_Chi_Minh"),
    ("Asia/Katmandu", "Asia/Kathmandu"),
    ("Asia/Rangoon", "Asia/Yangon"),
    ("Asia/Dacca", "Asia/Dhaka"),
    ("Asia/Ulan_Bator", "Asia/Ulaanbaatar"),
    ("Asia/Thimbu", "Asia/Thimphu"),
    ("Asia/Macao", "Asia/Macau"),
    ("Asia/Chongqing", "Asia/Shanghai"),
    ("Asia/Chungking", "Asia/Shanghai"),
    ("Asia/Harbin", "Asia/Shanghai"),
    ("Asia/Istanbul", "Europe/Istanbul"),
    ("Asia/Tel_Aviv", "Asia/Jerusalem"),
    ("Asia/Ashkhabad", "Asia/Ashgabat"),
    ("Asia/Ujung_Pandang", "Asia/Makassar"),
    ("Europe/Kiev", "Europe/Kyiv"),
    ("Europe/Nicosia", "Asia/Nicosia"),
    ("America/Buenos_Aires", "America/Argentina/Buenos_Aires"),
    ("America/Indianapolis", "America/Indiana/Indianapolis"),
    ("America/Fort_Wayne", "America/Indiana/Indianapolis"),
    ("America/Louisville", "America/Kentucky/Louisville"),
    ("America/Godthab", "America/Nuuk"),
    ("America/Montreal", "America/Toronto"),
    ("Atlantic/Faeroe", "Atlantic/Faroe"),
    ("Africa/Asmera", "Africa/Asmara"),
    ("Pacific/Ponape", "Pacific/Pohnpei"),
    ("Pacific/Truk", "Pacific/Chuuk"),
    ("Pacific/Enderbury", "Pacific/Kanton"),
    ("Pacific/Samoa", "Pacific/Pago_Pago"),
    ("Australia/ACT", "Australia/Sydney"),
    ("Australia/Canberra", "Australia/Sydney"),
    ("Australia/NSW", "Australia/Sydney"),
    ("US/Eastern", "America/New_York"),
    ("US/Central", "America/Chicago"),
    ("US/Mountain", "America/Denver"),
    ("US/Pacific", "America/Los_Angeles"),
    ("US/Alaska", "America/Anchorage"),
    ("US/Hawaii", "Pacific/Honolulu"),
    ("US/Arizona", "America/Phoenix"),
    ("US/East-Indiana", "America/Indiana/Indianapolis"),
    ("US/Michigan", "America/Detroit"),
    ("US/Aleutian", "America/Adak"),
    ("US/Samoa", "Pacific/Pago_Pago"),
    ("Canada/Eastern", "America/Toronto"),
    ("Canada/Central", "America/Winnipeg"),
    ("Canada/Mountain", "America/Edmonton"),
    ("Canada/Pacific", "America/Vancouver"),
    ("Canada/Atlantic", "America/Halifax"),
    ("Canada/Newfoundland", "America/St_Johns"),
    ("Brazil/East", "America/Sao_Paulo"),
    ("Mexico/General", "America/Mexico_City"),
    ("Chile/Continental", "America/Santiago"),
    ("GB", "Europe/London"),
    ("Eire", "Europe/Dublin"),
    ("Poland", "Europe/Warsaw"),
    ("Portugal", "Europe/Lisbon"),
    ("Turkey", "Europe/Istanbul"),
    ("Iceland", "Atlantic/Reykjavik"),
    ("Japan", "Asia/Tokyo"),
    ("PRC", "Asia/Shanghai"),
    ("ROK", "Asia/Seoul"),
    ("ROC", "Asia/Taipei"),
    ("Hongkong", "Asia/Hong_Kong"),
    ("Singapore", "Asia/Singapore"),
    ("Israel", "Asia/Jerusalem"),
    ("Iran", "Asia/Tehran"),
    ("Egypt", "Africa/Cairo"),
    ("Libya", "Africa/Tripoli"),
    ("NZ", "Pacific/Auckland"),
    ("Cuba", "America/Havana"),
    ("Jamaica", "America/Jamaica"),
    ("Navajo", "America/Denver"),
    ("UCT", "Etc/UTC"),
    ("Universal", "Etc/UTC"),
    ("Zulu", "Etc/UTC"),
    ("Etc/UCT", "Etc/UTC"),
    ("Etc/Universal", "Etc/UTC"),
    ("Etc/Zulu", "Etc/UTC"),
    ("Greenwich", "Etc/GMT"),
    ("GMT0", "Etc/GMT"),
];

/// The canonical name of a legacy zone name, if it is one (case-insensitive like IANA).
fn canonical(name: &str) -> Option<&'static str> {
    ALIASES
        .iter()
        .find(|(old, _)| old.eq_ignore_ascii_case(name))
        .map(|(_, new)| *new)
}

/// Looks up an IANA zone: the system database first, then the canonical name of a legacy
/// one, then jiff's bundled copy (empty unless the `tzdb-bundle-always` feature is on).
/// An unknown name is an error: a guessed zone would move a reset by hours.
pub fn lookup_zone(name: &str) -> Result<TimeZone, ResetError> {
    let name = name.trim();
    let candidates = [Some(name), canonical(name)];
    // jiff's database lists every directory of the system's zoneinfo on its first lookup
    // (for names in any case): ~30 directory reads, a third of a check-quota run. A name
    // spelled as its file is read straight from there.
    for candidate in candidates.iter().flatten() {
        if let Some(tz) = direct(candidate) {
            return Ok(tz);
        }
    }
    let bundled = TimeZoneDatabase::bundled();
    for db in [jiff::tz::db(), &bundled] {
        for candidate in candidates.iter().flatten() {
            if let Ok(tz) = db.get(candidate) {
                return Ok(tz);
            }
        }
    }
    Err(ResetError::UnknownZone(name.to_owned()))
}

/// The zone whose `TZif` file is `<zoneinfo>/<name>`, for a name that is a plain relative
/// path (letters, digits, `_+-/`, no `..`); `None` sends the lookup to jiff's database.
fn direct(name: &str) -> Option<TimeZone> {
    let plain = !name.is_empty()
        && !name.starts_with('/')
        && !name
            .split('/')
            .any(|p| p.is_empty() || p == "." || p == "..")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-' | '/'));
    if !plain {
        return None;
    }
    if name == "UTC" {
        return Some(TimeZone::UTC);
    }
    let dirs = std::env::var_os("TZDIR")
        .map(std::path::PathBuf::from)
        .into_iter()
        .chain(["/usr/share/zoneinfo", "/etc/zoneinfo"].map(std::path::PathBuf::from));
    for dir in dirs {
        if let Ok(bytes) = std::fs::read(dir.join(name))
            && let Ok(tz) = TimeZone::tzif(name, &bytes)
        {
            return Some(tz);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alias_points_at_a_zone_the_system_database_has() {
        for (old, new) in ALIASES {
            assert!(
                jiff::tz::db().get(new).is_ok(),
                "{old} -> {new} is not in the database"
            );
        }
    }

    #[test]
    fn a_zone_read_from_its_file_is_the_databases_zone() {
        let t: jiff::Timestamp = "2026-03-08T12:00:00Z".parse().unwrap();
        for name in ["America/New_York", "Europe/Paris", "Asia/Kolkata", "UTC"] {
            let direct = direct(name).expect(name);
            let db = jiff::tz::db().get(name).expect(name);
            assert_eq!(direct.to_offset(t), db.to_offset(t), "{name}");
        }
        assert!(direct("../etc/passwd").is_none());
        assert!(direct("/etc/localtime").is_none());
        // Other spellings still resolve, through the database.
        assert!(lookup_zone("america/new_york").is_ok());
    }

    #[test]
    fn legacy_names_map_to_canonical_names() {
        assert_eq!(canonical("Asia/Calcutta"), Some("Asia/Kolkata"));
        assert_eq!(canonical("us/eastern"), Some("America/New_York"));
        assert_eq!(canonical("Europe/Paris"), None);
    }

    #[test]
    fn a_legacy_name_finds_the_same_rules_as_its_canonical_name() {
        let old = lookup_zone("US/Pacific").expect("resolves");
        let new = lookup_zone("America/Los_Angeles").expect("resolves");
        let at: jiff::Timestamp = "2026-07-01T00:00:00Z".parse().expect("valid");
        assert_eq!(old.to_offset(at), new.to_offset(at));
    }

    #[test]
    fn an_unknown_zone_is_an_error_naming_it() {
        assert_eq!(
            lookup_zone("Mars/Olympus_Mons").map(|_| ()),
            Err(ResetError::UnknownZone("Mars/Olympus_Mons".into()))
        );
    }

    #[test]
    fn utc_in_parentheses_is_a_zone() {
        assert!(lookup_zone("UTC").is_ok());
    }
}
