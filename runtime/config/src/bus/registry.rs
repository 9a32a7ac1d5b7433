//! The registry macro: from one line per kind it generates [`BusConfig`](super::BusConfig)
//! (the tagged `[[bus]]` enum), [`BusKind`](super::BusKind) with every `type` name, and the
//! dispatch to each kind's [`BusKindConfig`](super::BusKindConfig) and decoder.

macro_rules! bus_kinds {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal => $ty:ty, )+) => {
        #[doc = "`[[bus]]`: one physical bus, owned by one adapter actor. The `type` key selects the kind."]
        #[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
        #[serde(tag = "type")]
        pub enum BusConfig {
            $( $(#[$doc])* #[serde(rename = $name)] $variant($ty), )+
        }

        /// The bus kinds by their `type` name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum BusKind {
            $( #[doc = concat!("`", $name, "`")] $variant, )+
        }

        impl BusKind {
            /// Every kind with its `type` name.
            pub const ALL: &'static [(&'static str, BusKind)] = &[$( ($name, BusKind::$variant), )+];

            /// The `type` name.
            pub fn name(self) -> &'static str {
                match self {
                    $( BusKind::$variant => $name, )+
                }
            }
        }

        impl BusConfig {
            /// The kind of bus.
            pub fn kind(&self) -> BusKind {
                match self {
                    $( BusConfig::$variant(_) => BusKind::$variant, )+
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
                kind: BusKind,
                body: &toml::Spanned<toml::de::DeValue<'_>>,
                path: &$crate::diag::Path,
                f: &mut Vec<$crate::diag::Finding>,
            ) -> Option<BusConfig> {
                match kind {
                    $( BusKind::$variant =>
                        $crate::source::decode::<$ty>(body, 0, path, f).map(BusConfig::$variant), )+
                }
            }
        }
    };
}

pub(crate) use bus_kinds;
