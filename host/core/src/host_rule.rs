//! Which hosts a model adapter may reach: `allowed_hosts` rules (`host`,
//! `host:port`, `*.example.com`), and the addresses no rule but a literal one
//! opens (loopback, private, link-local, cloud metadata).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// One `allowed_hosts` entry.
///
/// - `api.openai.com`: that host, on the default port of the request's scheme
///   (443 for https, 80 for http).
/// - `localhost:11434`, `127.0.0.1:8080`, `[::1]:8080`: that host on that port.
/// - `*.example.com[:port]`: any host under `example.com` (not `example.com`
///   itself); never an IP address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRule {
    host: String,
    port: Option<u16>,
    wildcard: bool,
}

/// Why an `allowed_hosts` entry is not a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{rule}` is not a host rule: {why}")]
pub struct HostRuleError {
    /// The entry as written.
    pub rule: String,
    /// What is wrong with it.
    pub why: String,
}

impl FromStr for HostRule {
    type Err = HostRuleError;

    fn from_str(rule: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| HostRuleError {
            rule: rule.to_owned(),
            why: why.to_owned(),
        };
        if rule.contains("://") || rule.contains('/') {
            return Err(bad("write the host only, without a scheme or path"));
        }
        if rule == "*" || rule.starts_with("*:") {
            return Err(bad("`*` would allow every host; name the hosts"));
        }
        let (host, port) = split_host_port(rule).map_err(|w| bad(&w))?;
        let host = host.to_ascii_lowercase();
        let (wildcard, name) = match host.strip_prefix("*.") {
            Some(rest) => (true, rest.to_owned()),
            None => (false, host),
        };
        if name.is_empty() {
            return Err(bad("the host is empty"));
        }
        if name.contains('*') {
            return Err(bad(
                "a wildcard is only allowed as the first label, e.g. `*.example.com`",
            ));
        }
        if wildcard && (name.parse::<IpAddr>().is_ok() || !name.contains('.')) {
            return Err(bad(
                "a wildcard needs a domain with at least two labels, e.g. `*.example.com`",
            ));
        }
        let valid = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':'));
        if !valid {
            return Err(bad("a host has only letters, digits, `-` and `.`"));
        }
        Ok(Self {
            host: name,
            port,
            wildcard,
        })
    }
}

impl fmt::Display for HostRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        match (self.host.contains(':'), self.port) {
            (true, Some(p)) => write!(f, "[{}]:{p}", self.host),
            (true, None) => write!(f, "[{}]", self.host),
            (false, Some(p)) => write!(f, "{}:{p}", self.host),
            (false, None) => f.write_str(&self.host),
        }
    }
}

/// `host[:port]`, `[v6]` or `[v6]:port` into the host and the port.
fn split_host_port(text: &str) -> Result<(String, Option<u16>), String> {
    let port = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| format!("`{p}` is not a port (1 to 65535)"))
    };
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| "an IPv6 address needs its closing `]`".to_owned())?;
        return match after.strip_prefix(':') {
            Some(p) => Ok((host.to_owned(), Some(port(p)?))),
            None if after.is_empty() => Ok((host.to_owned(), None)),
            None => Err(format!("unexpected `{after}` after the address")),
        };
    }
    match text.rsplit_once(':') {
        Some((host, _)) if host.contains(':') => {
            Err("write an IPv6 address in brackets, e.g. `[::1]:8080`".into())
        }
        Some((host, p)) => Ok((host.to_owned(), Some(port(p)?))),
        None => Ok((text.to_owned(), None)),
    }
}

/// Where a request goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host name or address, lowercase, IPv6 without brackets.
    pub host: String,
    /// The port.
    pub port: u16,
    /// Whether it is the default port of the request's scheme.
    pub default_port: bool,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl HostRule {
    /// Whether every target this rule lets through, `outer` lets through too:
    /// a tenant's `*.openai.com` covers a model's `api.openai.com` and
    /// `*.eu.openai.com`; `api.openai.com` covers only itself (same port).
    pub fn within(&self, outer: &HostRule) -> bool {
        if self.port != outer.port {
            return false;
        }
        if !outer.wildcard {
            return !self.wildcard && same_host(&self.host, &outer.host);
        }
        self.host
            .strip_suffix(&outer.host)
            .is_some_and(|head| head.len() > 1 && head.ends_with('.'))
    }

    fn matches(&self, target: &Target) -> bool {
        let port_ok = match self.port {
            Some(p) => p == target.port,
            None => target.default_port,
        };
        let host_ok = if self.wildcard {
            target
                .host
                .strip_suffix(&self.host)
                .is_some_and(|head| head.len() > 1 && head.ends_with('.'))
        } else {
            same_host(&self.host, &target.host)
        };
        port_ok && host_ok
    }
}

/// Equal names, or equal addresses however they are written (`::1` and
/// `0:0:0:0:0:0:0:1`).
fn same_host(a: &str, b: &str) -> bool {
    match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Whether `rules` let a request reach `target`; `Err` says why not.
pub fn check_target(rules: &[HostRule], target: &Target) -> Result<(), String> {
    if let Some(why) = special_address(&target.host) {
        let literal = rules
            .iter()
            .any(|r| !r.wildcard && r.matches(target) && same_host(&r.host, &target.host));
        return if literal {
            Ok(())
        } else {
            Err(format!(
                "{target} is {why}; such an address is reached only when listed literally in allowed_hosts"
            ))
        };
    }
    if rules.iter().any(|r| r.matches(target)) {
        return Ok(());
    }
    let listed: Vec<String> = rules.iter().map(ToString::to_string).collect();
    Err(if listed.is_empty() {
        format!("{target} is not allowed: the model's allowed_hosts is empty")
    } else {
        format!(
            "{target} is not in the model's allowed_hosts ({})",
            listed.join(", ")
        )
    })
}

/// What is special about `host` if it is an address (or a numeric form the
/// system resolver would read as one) that must be listed literally.
fn special_address(host: &str) -> Option<String> {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => special_v4(ip).map(str::to_owned),
        Ok(IpAddr::V6(ip)) => special_v6(ip).map(str::to_owned),
        // `2130706433`, `0x7f.1`, `127.1`: getaddrinfo reads these as IPv4.
        Err(_) if looks_numeric(host) => {
            Some("a numeric address in a non-standard form".to_owned())
        }
        Err(_) if host == "localhost" || host.ends_with(".localhost") => {
            Some("a loopback name".to_owned())
        }
        Err(_) if METADATA_NAMES.contains(&host.trim_end_matches('.')) => {
            Some("a cloud metadata name".to_owned())
        }
        Err(_) => None,
    }
}

/// Names of cloud instance-metadata services (their addresses are caught as
/// link-local, CGNAT or unique-local addresses).
const METADATA_NAMES: &[&str] = &[
    "metadata.google.internal",
    "metadata.goog",
    "metadata",
    "instance-data",
    "instance-data.ec2.internal",
];

fn looks_numeric(host: &str) -> bool {
    let last = host.trim_end_matches('.').rsplit('.').next().unwrap_or("");
    last.starts_with(|c: char| c.is_ascii_digit())
        && host
            .split('.')
            .all(|l| l.chars().all(|c| c.is_ascii_hexdigit() || c == 'x'))
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(match (a, b) {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => "the cloud metadata address",
        (0, _) => "an unspecified address (0.0.0.0/8)",
        (127, _) => "a loopback address (127.0.0.0/8)",
        (10, _) => "a private address (10.0.0.0/8)",
        (172, 16..=31) => "a private address (172.16.0.0/12)",
        (192, 168) => "a private address (192.168.0.0/16)",
        (169, 254) => "a link-local address (169.254.0.0/16)",
        (100, 64..=127) => "a shared address (100.64.0.0/10)",
        (224..=255, _) => "a multicast or reserved address",
        _ => return None,
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return special_v4(v4).map(|_| "an IPv4-mapped private, loopback or metadata address");
    }
    let s = ip.segments();
    Some(match s[0] {
        _ if ip.is_loopback() => "a loopback address (::1)",
        _ if ip.is_unspecified() => "an unspecified address (::)",
        0 if s[1..6] == [0; 5] => "an IPv4-compatible address",
        0x64 if s[1] == 0xff9b => "a NAT64 address",
        x if x & 0xfe00 == 0xfc00 => "a unique local address (fc00::/7)",
        x if x & 0xffc0 == 0xfe80 => "a link-local address (fe80::/10)",
        x if x & 0xff00 == 0xff00 => "a multicast address",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(list: &[&str]) -> Vec<HostRule> {
        list.iter()
            .map(|r| r.parse().unwrap_or_else(|e| panic!("{e}")))
            .collect()
    }

    fn to(host: &str, port: u16, default_port: bool) -> Target {
        Target {
            host: host.into(),
            port,
            default_port,
        }
    }

    #[test]
    fn exact_hosts_ports_and_wildcards() {
        let r = rules(&["api.openai.com", "localhost:11434", "*.example.com:8443"]);
        assert!(check_target(&r, &to("api.openai.com", 443, true)).is_ok());
        assert!(check_target(&r, &to("api.openai.com", 8443, false)).is_err());
        assert!(check_target(&r, &to("localhost", 11434, false)).is_ok());
        assert!(check_target(&r, &to("localhost", 11435, false)).is_err());
        assert!(check_target(&r, &to("a.b.example.com", 8443, false)).is_ok());
        assert!(check_target(&r, &to("example.com", 8443, false)).is_err());
        assert!(check_target(&r, &to("badexample.com", 8443, false)).is_err());
        let err = check_target(&r, &to("evil.test", 443, true)).unwrap_err();
        assert!(
            err.contains("evil.test:443 is not in the model's allowed_hosts"),
            "{err}"
        );
    }

    #[test]
    fn a_rule_is_within_a_wider_one_on_the_same_port() {
        let [api, eu, any, any_tls, local] = [
            "api.openai.com",
            "*.eu.openai.com",
            "*.openai.com",
            "*.openai.com:443",
            "127.0.0.1:8080",
        ]
        .map(|r| r.parse::<HostRule>().unwrap());
        assert!(api.within(&api));
        assert!(api.within(&any));
        assert!(eu.within(&any));
        assert!(
            !any.within(&eu),
            "a wider wildcard is not within a narrower one"
        );
        assert!(!any.within(&api));
        assert!(!api.within(&any_tls), "a default port is not a written one");
        assert!(!local.within(&any));
        assert!(local.within(&"127.0.0.1:8080".parse().unwrap()));
        assert!(!local.within(&"127.0.0.1:8081".parse().unwrap()));
    }

    #[test]
    fn special_addresses_need_a_literal_rule() {
        let r = rules(&["127.0.0.1:8080", "[::1]:9000"]);
        assert!(check_target(&r, &to("127.0.0.1", 8080, false)).is_ok());
        assert!(check_target(&r, &to("::1", 9000, false)).is_ok());
        assert!(check_target(&r, &to("0:0:0:0:0:0:0:1", 9000, false)).is_ok());
        for (host, port) in [
            ("169.254.169.254", 80),
            ("127.0.0.2", 8080),
            ("10.1.2.3", 80),
            ("172.20.0.1", 80),
            ("192.168.1.1", 80),
            ("0.0.0.0", 8080),
            ("::ffff:169.254.169.254", 80),
            ("::ffff:127.0.0.1", 8080),
            ("fd00::1", 80),
            ("fe80::1", 80),
            ("2130706433", 80),
            ("0x7f.1", 80),
        ] {
            let err = check_target(&r, &to(host, port, port == 80)).unwrap_err();
            assert!(err.contains("listed literally"), "{host}: {err}");
        }
        let meta = check_target(&[], &to("169.254.169.254", 80, true)).unwrap_err();
        assert!(meta.contains("cloud metadata"), "{meta}");
        let google = rules(&["*.google.internal"]);
        let meta = check_target(&google, &to("metadata.google.internal", 80, true)).unwrap_err();
        assert!(meta.contains("a cloud metadata name"), "{meta}");
        let literal = rules(&["metadata.google.internal"]);
        assert!(check_target(&literal, &to("metadata.google.internal", 80, true)).is_ok());
    }

    #[test]
    fn bad_rules_say_why() {
        for (rule, why) in [
            ("https://api.openai.com", "without a scheme"),
            ("*", "every host"),
            ("*.com", "two labels"),
            ("*.10.0.0.1", "two labels"),
            ("api.*.com", "first label"),
            ("host:0", "not a port"),
            ("host:99999", "not a port"),
            ("::1", "in brackets"),
            ("exa mple.com", "letters, digits"),
        ] {
            let err = rule.parse::<HostRule>().unwrap_err().to_string();
            assert!(err.contains(why), "{rule}: {err}");
        }
        assert_eq!(
            "[::1]:8080".parse::<HostRule>().map(|r| r.to_string()),
            Ok("[::1]:8080".to_owned())
        );
    }
}
