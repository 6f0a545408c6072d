//! Generator names and modes, pure (no libtorch): what the command line, the model card and
//! (later) the experiment grid call each generator.
//!
//! May depend on: serde. Nothing else.

use serde::{Deserialize, Serialize};

/// The generators dpwear trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GeneratorKind {
    /// Conditional LSTM GAN with BCE loss (spec §3.1).
    Cgan,
    /// DoppelGANger, WGAN-GP (spec §3.2).
    Dgan,
    /// TimeGAN, one unconditional model per class (spec §3.3).
    Timegan,
    /// Conditional DP-MERF: one released mean embedding, a generator fitted to it.
    DpMerf,
    /// The boundary-seeking GAN of tabular records (Imtiaz et al. 2021); trained by
    /// `training::tabular`, not a sensor-window generator (so not in [`GeneratorKind::ALL`]).
    Bgan,
}

impl GeneratorKind {
    /// The sensor-window generators (what grids, `gan train` and the web page accept).
    pub const ALL: [GeneratorKind; 4] = [
        GeneratorKind::Cgan,
        GeneratorKind::Dgan,
        GeneratorKind::Timegan,
        GeneratorKind::DpMerf,
    ];

    /// Stable name on the command line and in files.
    pub fn as_str(self) -> &'static str {
        match self {
            GeneratorKind::Cgan => "cgan",
            GeneratorKind::Dgan => "dgan",
            GeneratorKind::Timegan => "timegan",
            GeneratorKind::DpMerf => "dp-merf",
            GeneratorKind::Bgan => "bgan",
        }
    }

    /// Parses [`GeneratorKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for GeneratorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reference mode reproduces the reference's hyper-parameters, schedule and quirks (each named
/// in the model card); default mode is dpwear's corrected version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GeneratorMode {
    Default,
    Reference,
}

impl GeneratorMode {
    pub fn as_str(self) -> &'static str {
        match self {
            GeneratorMode::Default => "default",
            GeneratorMode::Reference => "reference",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "default" => Some(GeneratorMode::Default),
            "reference" => Some(GeneratorMode::Reference),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in GeneratorKind::ALL {
            assert_eq!(GeneratorKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(GeneratorKind::parse("gan"), None);
        assert_eq!(
            GeneratorMode::parse("reference"),
            Some(GeneratorMode::Reference)
        );
    }
}
