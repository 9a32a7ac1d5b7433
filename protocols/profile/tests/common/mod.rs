//! Shipped profiles, decoded and checked by linevisor-config.
#![allow(dead_code, unreachable_pub)]

use linevisor_config::check_text;
use linevisor_core::profile::Profile;
use linevisor_profile::ProfileCodec;

/// Every shipped profile (compiled into linevisor-config), checked.
pub fn shipped() -> Vec<Profile> {
    let checked = check_text("<test>", "[line]\nname = \"t\"\n", None);
    let line = checked.line.expect("the shipped profiles check clean");
    let profiles: Vec<Profile> = line.profiles.into_values().map(|lp| lp.profile).collect();
    assert_eq!(profiles.len(), linevisor_config::BUILTIN_PROFILES.len());
    profiles
}

/// The codec of a shipped profile by name.
pub fn codec(name: &str) -> ProfileCodec {
    let p = shipped()
        .into_iter()
        .find(|p| p.profile.name == name)
        .expect("shipped profile");
    ProfileCodec::new(&p).expect("codec")
}
