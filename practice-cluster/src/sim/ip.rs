//! Pod IP addresses from the pod CIDR 10.244.0.0/16, handed out from 10.244.0.2 upward.
//!
//! Addresses are not reused until the range wraps around, so a recreated pod visibly
//! gets a new IP (what a student should learn not to rely on).

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// The first address handed out (10.244.0.1 is the node's bridge on a real cluster).
const FIRST: u32 = u32::from_be_bytes([10, 244, 0, 2]);
/// The last usable address of 10.244.0.0/16.
const LAST: u32 = u32::from_be_bytes([10, 244, 255, 254]);

/// Hands out and takes back pod IPs.
#[derive(Debug)]
pub struct IpAllocator {
    next: u32,
    used: BTreeSet<u32>,
}

impl Default for IpAllocator {
    fn default() -> Self {
        IpAllocator { next: FIRST, used: BTreeSet::new() }
    }
}

impl IpAllocator {
    /// The next free address, or `None` when all 65 533 are in use.
    pub fn allocate(&mut self) -> Option<Ipv4Addr> {
        let span = LAST - FIRST + 1;
        for _ in 0..span {
            let candidate = self.next;
            self.next = if candidate >= LAST { FIRST } else { candidate + 1 };
            if self.used.insert(candidate) {
                return Some(Ipv4Addr::from(candidate));
            }
        }
        None
    }

    /// Returns `ip` to the pool.
    pub fn release(&mut self, ip: Ipv4Addr) {
        self.used.remove(&u32::from(ip));
    }

    /// Whether `ip` is currently assigned to a pod.
    pub fn in_use(&self, ip: Ipv4Addr) -> bool {
        self.used.contains(&u32::from(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_start_at_dot_two_and_are_not_reused_at_once() {
        let mut a = IpAllocator::default();
        let first = a.allocate();
        let second = a.allocate();
        assert_eq!(first, Some(Ipv4Addr::new(10, 244, 0, 2)));
        assert_eq!(second, Some(Ipv4Addr::new(10, 244, 0, 3)));
        a.release(Ipv4Addr::new(10, 244, 0, 2));
        assert_eq!(a.allocate(), Some(Ipv4Addr::new(10, 244, 0, 4)));
        assert!(!a.in_use(Ipv4Addr::new(10, 244, 0, 2)));
    }

    #[test]
    fn the_range_wraps_around_to_freed_addresses() {
        let mut a = IpAllocator { next: LAST, used: BTreeSet::new() };
        assert_eq!(a.allocate(), Some(Ipv4Addr::new(10, 244, 255, 254)));
        assert_eq!(a.allocate(), Some(Ipv4Addr::new(10, 244, 0, 2)));
    }
}
