//! The registry macro: from one line per kind it generates [`BusConfig`](super::BusConfig)
//! (the tagged `[[bus]]` enum), [`BusType`](super::BusType) with every `type` name, and the
//! dispatch to each kind's [`BusKindConfig`](super::BusKindConfig) and decoder.

macro_rules! bus_kinds {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal => $ty:ty, )+) => {
        #[doc = "`[[bus]]`: one physical bus, owned by one adapter actor. The `type` key selects the kind."]
        #[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
        #[serde(tag = "type")]
        pub enum BusConfig {
            $( $(#[$doc])* #[serde(rename = $name)] $variant($ty), )+
        }

        /// The bus types by their `type` name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum BusType {
            $( #[doc = concat!("`", $name, "`")] $variant, )+
        }

        impl BusType {
            /// Every kind with its `type` name.
            pub const ALL: &'static [(&'static str, BusType)] = &[$( ($name, BusType::$variant), )+];

            /// The `type` name.
            pub fn name(self) -> &'static str {
                match self {
                    $( BusType::$variant => $name, )+
                }
            }
        }

        impl BusConfig {
            /// Its `type`.
            pub fn bus_type(&self) -> BusType {
                match self {
                    $( BusConfig::$variant(_) => BusType::$variant, )+
                }
            }

            /// The kind's view of its options.
            pub(crate) fn options(&self) -> &dyn $crate::bus::BusKindConfig {
                match self {
                    $( BusConfig::$variant(b) => b, )+
                }
            }

            /// Decodes the body of a `[[bus]]` table (without `type`) as `kind`.
            pub(crate) fn decode(
                kind: BusType,
                body: &toml::Spanned<toml::de::DeValue<'_>>,
                path: &$crate::diag::Path,
                f: &mut Vec<$crate::diag::Finding>,
            ) -> Option<BusConfig> {
                match kind {
                    $( BusType::$variant =>
                        $crate::source::decode::<$ty>(body, 0, path, f).map(BusConfig::$variant), )+
                }
            }
        }
    };
}

pub(crate) use bus_kinds;
