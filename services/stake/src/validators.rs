//! The validators on offer.

use solstice_types::stake::Validator;

/// The validators on offer. Fixed for now; a real deployment would read them from the cluster.
pub fn validators() -> Vec<Validator> {
    let validator = |id: &str, name: &str, commission_bps, apy_bps| Validator {
        id: id.to_owned(),
        name: name.to_owned(),
        commission_bps,
        apy_bps,
    };
    vec![
        validator("solstice", "Solstice Validator", 500, 700),
        validator("aurora", "Aurora Staking", 800, 720),
        validator("meridian", "Meridian Nodes", 0, 650),
        validator("polaris", "Polaris Labs", 1_000, 760),
    ]
}

/// The validator with this id, if it is on offer.
pub fn validator(id: &str) -> Option<Validator> {
    validators().into_iter().find(|v| v.id == id)
}
