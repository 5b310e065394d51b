//! The endpoints controller (to be written).

use jiff::Timestamp;

use super::Ctx;

/// One pass.
pub fn reconcile(_ctx: &Ctx) -> Option<Timestamp> {
    None
}
