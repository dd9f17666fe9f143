//! [`NoProxy`]: the destinations a `no_proxy` list sends around the proxy.

use std::net::IpAddr;

/// A parsed `no_proxy` (or `NO_PROXY`) list: the destinations reached
/// directly even though a proxy is set in the environment.
///
/// Comma-separated entries (spaces around them ignored, matching
/// case-insensitive):
///
/// - `*`: every destination;
/// - a host name, `example.com` or `.example.com`: that name and every
///   name under it (`ws.example.com`), on label boundaries only
///   (`badexample.com` does not match); a leading `.` or `*.` changes
///   nothing, as in curl and Python;
/// - an IP address, `10.1.2.3` or `::1` (`[::1]` too), matching a
///   destination written as that address;
/// - a CIDR block, `10.0.0.0/8` or `fd00::/8`, matching destinations
///   written as an address inside it (names are not resolved to check);
/// - any of these but `*` and a block with `:port` (`example.com:8443`,
///   `[::1]:9001`): only that port.
///
/// Entries that parse as none of these are ignored.
///
/// ```
/// use weft_io::proxy::NoProxy;
///
/// let list = NoProxy::parse("internal.corp, .example.com, 10.0.0.0/8, [::1]:9001");
/// assert!(list.matches("ws.internal.corp", 443));
/// assert!(list.matches("example.com", 80));
/// assert!(!list.matches("badexample.com", 80));
/// assert!(list.matches("10.1.2.3", 80));
/// assert!(list.matches("::1", 9001) && !list.matches("::1", 9002));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NoProxy {
    all: bool,
    entries: Vec<Entry>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    pattern: Pattern,
    port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Pattern {
    /// A host name, lowercase, no leading or trailing dot.
    Name(String),
    Ip(IpAddr),
    Cidr(IpAddr, u8),
}

impl NoProxy {
    /// Parses a `no_proxy` list.
    pub fn parse(list: &str) -> NoProxy {
        let mut no_proxy = NoProxy::default();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                no_proxy.all = true;
            } else if let Some(entry) = parse_entry(entry) {
                no_proxy.entries.push(entry);
            }
        }
        no_proxy
    }

    /// Whether `host` (a name, or an IP address without brackets) at
    /// `port` is to be reached directly.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        if self.all {
            return true;
        }
        let host = normalize_name(host);
        let ip = host.parse::<IpAddr>().ok().map(|ip| ip.to_canonical());
        self.entries.iter().any(|entry| {
            entry.port.is_none_or(|p| p == port)
                && match (&entry.pattern, ip) {
                    (Pattern::Name(name), None) => {
                        host == *name
                            || host
                                .strip_suffix(name.as_str())
                                .is_some_and(|rest| rest.ends_with('.'))
                    }
                    (Pattern::Ip(entry), Some(ip)) => *entry == ip,
                    (Pattern::Cidr(net, bits), Some(ip)) => in_block(ip, *net, *bits),
                    _ => false,
                }
        })
    }

    /// Whether the list has no entries.
    pub fn is_empty(&self) -> bool {
        !self.all && self.entries.is_empty()
    }
}

/// Lowercase, without a trailing dot or IPv6 brackets.
fn normalize_name(host: &str) -> String {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn parse_entry(entry: &str) -> Option<Entry> {
    if let Some((net, bits)) = entry.split_once('/') {
        let net = net.parse::<IpAddr>().ok()?.to_canonical();
        let bits = bits.parse::<u8>().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        return (bits <= max).then_some(Entry {
            pattern: Pattern::Cidr(net, bits),
            port: None,
        });
    }
    // "[v6]" or "[v6]:port"; a bare IPv6 address has several colons.
    let (host, port) = if let Some(v6) = entry.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        match after {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':')?)),
        }
    } else if entry.parse::<IpAddr>().is_ok() {
        (entry, None)
    } else {
        match entry.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (entry, None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok()?),
        None => None,
    };
    let pattern = match host.parse::<IpAddr>() {
        Ok(ip) => Pattern::Ip(ip.to_canonical()),
        Err(_) => {
            let name = normalize_name(host);
            let name = name.trim_start_matches("*.").trim_start_matches('.');
            if name.is_empty() {
                return None;
            }
            Pattern::Name(name.to_owned())
        }
    };
    Some(Entry { pattern, port })
}

/// Whether `ip` is in the block `net`/`bits` (of the same family).
fn in_block(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_themselves_and_their_subdomains_on_label_boundaries() {
        let list = NoProxy::parse("example.com");
        assert!(list.matches("example.com", 80));
        assert!(list.matches("EXAMPLE.com.", 80));
        assert!(list.matches("a.b.example.com", 443));
        assert!(!list.matches("badexample.com", 80));
        assert!(!list.matches("example.com.evil", 80));
        assert!(!list.matches("com", 80));
        for leading in [".example.com", "*.example.com", " .Example.Com "] {
            let list = NoProxy::parse(leading);
            assert!(list.matches("example.com", 80), "{leading}");
            assert!(list.matches("ws.example.com", 80), "{leading}");
        }
    }

    #[test]
    fn a_port_restricts_an_entry() {
        let list = NoProxy::parse("example.com:8443,10.0.0.1:80,[fd00::1]:9001");
        assert!(list.matches("example.com", 8443));
        assert!(!list.matches("example.com", 443));
        assert!(list.matches("10.0.0.1", 80) && !list.matches("10.0.0.1", 81));
        assert!(list.matches("fd00::1", 9001) && !list.matches("fd00::1", 9000));
    }

    #[test]
    fn addresses_and_blocks_match_addresses_only() {
        let list = NoProxy::parse("192.168.0.0/16, 10.1.2.3, fd00::/8, ::2, 0.0.0.0/0x");
        assert!(list.matches("192.168.44.1", 80));
        assert!(!list.matches("192.169.0.1", 80));
        assert!(list.matches("10.1.2.3", 1) && !list.matches("10.1.2.4", 1));
        assert!(list.matches("fd12::1", 1) && !list.matches("fe80::1", 1));
        assert!(list.matches("[::2]", 1));
        // An IPv4-mapped address is the IPv4 address.
        assert!(list.matches("::ffff:10.1.2.3", 1));
        // Names are not resolved.
        assert!(!list.matches("router.local", 80));
        assert!(NoProxy::parse("0.0.0.0/0").matches("8.8.8.8", 53));
        assert!(NoProxy::parse("::/0").matches("2001:db8::1", 53));
        assert!(!NoProxy::parse("10.0.0.0/33").matches("10.0.0.1", 53));
    }

    #[test]
    fn a_star_matches_everything_and_junk_is_ignored() {
        assert!(NoProxy::parse("foo, *").matches("anything.example", 1));
        let list = NoProxy::parse(" , ,:80,[::1,host:port, .");
        assert!(list.is_empty(), "{list:?}");
        assert!(!list.matches("host", 80));
        assert!(NoProxy::parse("").is_empty());
    }
}
