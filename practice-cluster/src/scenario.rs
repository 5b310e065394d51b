//! Named starting points: each scenario is a manifest shipped in
//! `practice-cluster/scenarios/`, loaded at start-up unless the cluster starts empty.

/// What the practice cluster starts with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// The StatefulSet lab: a headless Service and 3 pods (OrderedReady) counting visits.
    #[default]
    Lab,
    /// The lab with one fault per pod: Init:Error, Init:CrashLoopBackOff,
    /// CrashLoopBackOff and a not-ready (0/1) Running pod.
    Broken,
    /// The lab with `podManagementPolicy: Parallel`.
    Parallel,
    /// The lab whose pods become Ready only once their lower ordinals resolve in DNS.
    Quorum,
}

impl Scenario {
    /// The scenario's objects, as YAML.
    pub fn manifest(self) -> &'static str {
        match self {
            Scenario::Lab => crate::lab::LAB_MANIFEST,
            Scenario::Broken => include_str!("../scenarios/broken.yaml"),
            Scenario::Parallel => include_str!("../scenarios/parallel.yaml"),
            Scenario::Quorum => include_str!("../scenarios/quorum.yaml"),
        }
    }
}
