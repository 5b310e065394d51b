//! The dashboard's parts, one component per file: the teaching view's lanes, timeline
//! and ordering chart, the Details tables, the header, themes, shortcuts and dialogs.

pub mod confirm;
pub mod dns;
pub mod focus;
pub mod header;
pub mod lane;
pub mod lane_actions;
pub mod ordering;
pub mod ordinals;
pub mod pods;
pub mod probes;
pub mod shortcuts;
pub mod statefulset;
pub mod storage;
pub mod theme;
pub mod timeline;
