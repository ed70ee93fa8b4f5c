//! The address guard: which URLs and IP addresses a user-added source may reach, and the DNS
//! resolver that enforces it for names reqwest resolves.
//!
//! Sources added from Discord are untrusted input: without this guard anyone could make the bot
//! fetch `http://169.254.169.254/` (cloud metadata), the admin panel on the LAN, or a service on
//! loopback, and read the answer back through alerts or error messages. The checks are pure; the
//! resolver is the only part that touches the network.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

/// Why an address is not a public internet address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    /// `127.0.0.0/8`, `::1`: this machine.
    Loopback,
    /// RFC 1918 `10/8`, `172.16/12`, `192.168/16`.
    Private,
    /// `169.254/16`, `fe80::/10`: where cloud metadata services live.
    LinkLocal,
    /// `100.64/10`, carrier-grade NAT (RFC 6598).
    SharedNat,
    /// `224/4`, `ff00::/8`.
    Multicast,
    /// `0.0.0.0/8`, `::`.
    Unspecified,
    /// `255.255.255.255`.
    Broadcast,
    /// `192.0.2/24`, `198.51.100/24`, `203.0.113/24`, `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// `fc00::/7`, and the deprecated site-local `fec0::/10`.
    UniqueLocal,
    /// `198.18/15`, `2001:2::/48`.
    Benchmarking,
    /// Anything else that is not routable public unicast: `240/4`, `192.0.0/24`, Teredo,
    /// local-use NAT64, IPv6 outside `2000::/3`, ...
    Reserved,
}

impl AddressKind {
    fn describe(self) -> &'static str {
        match self {
            AddressKind::Loopback => "a loopback address (this machine)",
            AddressKind::Private => "a private address",
            AddressKind::LinkLocal => "a link-local address",
            AddressKind::SharedNat => "a carrier-grade NAT address",
            AddressKind::Multicast => "a multicast address",
            AddressKind::Unspecified => "an unspecified address",
            AddressKind::Broadcast => "a broadcast address",
            AddressKind::Documentation => "a documentation address",
            AddressKind::UniqueLocal => "a unique-local address",
            AddressKind::Benchmarking => "a benchmarking address",
            AddressKind::Reserved => "a reserved address",
        }
    }
}

impl fmt::Display for AddressKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// A URL or address a user-added source may not reach. The `Display` is shown to the user who
/// added the source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForbiddenAddress {
    /// The URL names an IP address directly.
    #[error("blocked: {ip} is {kind}; sources must be public http(s) addresses")]
    Ip { ip: IpAddr, kind: AddressKind },
    /// The host name resolved to a non-public address (every resolved address is checked, so a
    /// name cannot smuggle one private address in among public ones).
    #[error("blocked: {host} resolves to {ip}, {kind}; sources must be public http(s) addresses")]
    Resolved {
        host: String,
        ip: IpAddr,
        kind: AddressKind,
    },
    /// `file:`, `ftp:`, `gopher:`, ...
    #[error("blocked: only http and https URLs can be sources, not `{scheme}:`")]
    Scheme { scheme: String },
    /// `localhost` and `*.localhost` always mean this machine (RFC 6761), whatever DNS says.
    #[error("blocked: `{host}` is this machine; sources must be public http(s) addresses")]
    LocalName { host: String },
    /// `http:///path` and similar.
    #[error("blocked: the URL has no host name; write it as https://example.com/feed.xml")]
    NoHost,
}

/// Whether `ip` is a public unicast address a user-added source may reach.
///
/// IPv6 forms that embed an IPv4 address (mapped `::ffff:a.b.c.d`, compatible `::a.b.c.d`,
/// NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::`) are judged by the embedded address,
/// because that is where the packets end up.
pub fn check_ip(ip: IpAddr) -> Result<(), ForbiddenAddress> {
    let kind = match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    };
    match kind {
        None => Ok(()),
        Some(kind) => Err(ForbiddenAddress::Ip { ip, kind }),
    }
}

/// Whether `url` may be fetched for a user-added source, judged from the URL alone: the scheme
/// is http or https, the host is not `localhost`, and an IP-literal host is public.
///
/// IP literals must be checked here because reqwest never asks a resolver about them. The `url`
/// crate has already normalised the odd IPv4 spellings (`2130706433`, `0177.0.0.1`,
/// `0x7f.1`) into dotted quads by the time a `Url` exists.
pub fn check_url(url: &Url) -> Result<(), ForbiddenAddress> {
    match url.scheme() {
        "http" | "https" => {}
        other => {
            return Err(ForbiddenAddress::Scheme {
                scheme: other.to_owned(),
            })
        }
    }
    match url.host() {
        None => Err(ForbiddenAddress::NoHost),
        Some(Host::Ipv4(v4)) => check_ip(IpAddr::V4(v4)),
        Some(Host::Ipv6(v6)) => check_ip(IpAddr::V6(v6)),
        Some(Host::Domain(name)) => {
            if is_localhost_name(name) {
                Err(ForbiddenAddress::LocalName {
                    host: name.to_owned(),
                })
            } else {
                Ok(())
            }
        }
    }
}

fn is_localhost_name(name: &str) -> bool {
    // A trailing dot is the same name in DNS (`localhost.`).
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressKind> {
    let [a, b, c, _] = ip.octets();
    let kind = if ip.is_broadcast() {
        AddressKind::Broadcast
    } else if a == 0 {
        AddressKind::Unspecified
    } else if a == 127 {
        AddressKind::Loopback
    } else if a == 10 || (a == 172 && (16..=31).contains(&b)) || (a == 192 && b == 168) {
        AddressKind::Private
    } else if a == 169 && b == 254 {
        AddressKind::LinkLocal
    } else if a == 100 && (64..=127).contains(&b) {
        AddressKind::SharedNat
    } else if (a == 192 && b == 0 && c == 2)
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
    {
        AddressKind::Documentation
    } else if a == 198 && (b == 18 || b == 19) {
        AddressKind::Benchmarking
    } else if (224..=239).contains(&a) {
        AddressKind::Multicast
    } else if a >= 240 || (a == 192 && b == 0 && c == 0) || (a == 192 && b == 88 && c == 99) {
        // 240/4 future use; 192.0.0/24 IETF protocol assignments; 192.88.99/24 the retired
        // 6to4 relay anycast.
        AddressKind::Reserved
    } else {
        return None;
    };
    Some(kind)
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressKind> {
    let seg = ip.segments();
    if ip.is_unspecified() {
        return Some(AddressKind::Unspecified);
    }
    if ip.is_loopback() {
        return Some(AddressKind::Loopback);
    }
    // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (the deprecated "compatible" form).
    if seg[..5] == [0; 5] && (seg[5] == 0xffff || seg[5] == 0) {
        return classify_v4(embedded_v4(seg[6], seg[7]));
    }
    // 64:ff9b::/96, the well-known NAT64 prefix: the gateway connects to the embedded address.
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return classify_v4(embedded_v4(seg[6], seg[7]));
    }
    // 64:ff9b:1::/48, local-use NAT64: translated inside someone's own network.
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2] == 1 {
        return Some(AddressKind::Reserved);
    }
    if seg[0] & 0xff00 == 0xff00 {
        return Some(AddressKind::Multicast);
    }
    if seg[0] & 0xffc0 == 0xfe80 {
        return Some(AddressKind::LinkLocal);
    }
    if seg[0] & 0xfe00 == 0xfc00 || seg[0] & 0xffc0 == 0xfec0 {
        return Some(AddressKind::UniqueLocal);
    }
    // Global unicast is 2000::/3; everything else is unassigned or special-purpose. Refusing by
    // default keeps a future special range from slipping through.
    if seg[0] & 0xe000 != 0x2000 {
        return Some(AddressKind::Reserved);
    }
    if (seg[0] == 0x2001 && seg[1] == 0x0db8) || seg[0] & 0xfff0 == 0x3ff0 {
        return Some(AddressKind::Documentation);
    }
    if seg[0] == 0x2001 && seg[1] == 0x0002 && seg[2] == 0 {
        return Some(AddressKind::Benchmarking);
    }
    // 2002::/16, 6to4: the relay delivers to the IPv4 address in bits 16..48.
    if seg[0] == 0x2002 {
        return classify_v4(embedded_v4(seg[1], seg[2]));
    }
    // 2001::/23, IETF protocol assignments: Teredo 2001::/32 (the client address is hidden
    // inside, obfuscated; the protocol is dead), ORCHID identifiers, AMT, AS112. None of it
    // hosts a feed, and some of it tunnels to addresses we cannot see.
    if seg[0] == 0x2001 && seg[1] < 0x0200 {
        return Some(AddressKind::Reserved);
    }
    None
}

fn embedded_v4(high: u16, low: u16) -> Ipv4Addr {
    Ipv4Addr::from((u32::from(high) << 16) | u32::from(low))
}

/// A name lookup that failed, as opposed to one that succeeded with a forbidden answer.
#[derive(Debug, thiserror::Error)]
#[error("DNS lookup failed for {host}: {source}")]
pub struct DnsLookupFailed {
    pub host: String,
    #[source]
    pub source: io::Error,
}

/// Resolves names for reqwest and refuses the whole name if **any** address it resolves to fails
/// [`check_ip`]. Checking only the address that gets used is not enough: reqwest tries them in
/// turn, so one private address among public ones would still be reached.
#[derive(Debug, Clone, Copy, Default)]
pub struct GuardedResolver;

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            if is_localhost_name(&host) {
                return Err(ForbiddenAddress::LocalName { host }.into());
            }
            let addrs = lookup(&host).await?;
            check_resolved(&host, &addrs)?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Refuses `host` if any of the addresses it resolved to is not public.
pub fn check_resolved(host: &str, addrs: &[SocketAddr]) -> Result<(), ForbiddenAddress> {
    for addr in addrs {
        if let Err(ForbiddenAddress::Ip { ip, kind }) = check_ip(addr.ip()) {
            return Err(ForbiddenAddress::Resolved {
                host: host.to_owned(),
                ip,
                kind,
            });
        }
    }
    Ok(())
}

/// The resolver for trusted (operator-configured) sources: same lookup, no address check. It
/// exists so that both clients report a failed lookup as the same [`DnsLookupFailed`] error.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct UncheckedResolver;

impl reqwest::dns::Resolve for UncheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: reqwest::dns::Addrs = Box::new(lookup(&host).await?.into_iter());
            Ok(addrs)
        })
    }
}

async fn lookup(host: &str) -> Result<Vec<SocketAddr>, DnsLookupFailed> {
    // Port 0: reqwest substitutes the URL's port.
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
        .await
        .map_err(|source| DnsLookupFailed {
            host: host.to_owned(),
            source,
        })?
        .collect();
    if addrs.is_empty() {
        return Err(DnsLookupFailed {
            host: host.to_owned(),
            source: io::Error::new(io::ErrorKind::NotFound, "no addresses for this name"),
        });
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::dns::Resolve;

    fn url_verdict(text: &str) -> Result<(), ForbiddenAddress> {
        check_url(&Url::parse(text).unwrap())
    }

    fn ip_kind(text: &str) -> Option<AddressKind> {
        match check_ip(text.parse().unwrap()) {
            Ok(()) => None,
            Err(ForbiddenAddress::Ip { kind, .. }) => Some(kind),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
        ] {
            assert_eq!(ip_kind(ip), None, "{ip} should be public");
        }
    }

    #[test]
    fn non_public_ipv4_ranges_are_refused_with_their_kind() {
        let cases = [
            ("127.0.0.1", AddressKind::Loopback),
            ("127.255.0.9", AddressKind::Loopback),
            ("10.1.2.3", AddressKind::Private),
            ("172.16.0.1", AddressKind::Private),
            ("172.31.255.255", AddressKind::Private),
            ("192.168.1.1", AddressKind::Private),
            ("169.254.169.254", AddressKind::LinkLocal),
            ("100.64.0.1", AddressKind::SharedNat),
            ("100.127.255.255", AddressKind::SharedNat),
            ("224.0.0.1", AddressKind::Multicast),
            ("0.0.0.0", AddressKind::Unspecified),
            ("0.1.2.3", AddressKind::Unspecified),
            ("255.255.255.255", AddressKind::Broadcast),
            ("192.0.2.10", AddressKind::Documentation),
            ("198.51.100.1", AddressKind::Documentation),
            ("203.0.113.7", AddressKind::Documentation),
            ("198.18.0.1", AddressKind::Benchmarking),
            ("240.0.0.1", AddressKind::Reserved),
            ("192.0.0.8", AddressKind::Reserved),
        ];
        for (ip, kind) in cases {
            assert_eq!(ip_kind(ip), Some(kind), "{ip}");
        }
    }

    #[test]
    fn non_public_ipv6_ranges_are_refused_with_their_kind() {
        let cases = [
            ("::1", AddressKind::Loopback),
            ("::", AddressKind::Unspecified),
            ("fe80::1", AddressKind::LinkLocal),
            ("fd00::1", AddressKind::UniqueLocal),
            ("fc12::1", AddressKind::UniqueLocal),
            ("fec0::1", AddressKind::UniqueLocal),
            ("ff02::1", AddressKind::Multicast),
            ("2001:db8::1", AddressKind::Documentation),
            ("3fff::1", AddressKind::Documentation),
            ("2001:2::1", AddressKind::Benchmarking),
            (
                "2001:0:4136:e378:8000:63bf:3fff:fdd2",
                AddressKind::Reserved,
            ),
            ("64:ff9b:1::a00:1", AddressKind::Reserved),
            ("100::1", AddressKind::Reserved),
        ];
        for (ip, kind) in cases {
            assert_eq!(ip_kind(ip), Some(kind), "{ip}");
        }
    }

    #[test]
    fn ipv6_embedding_a_private_ipv4_is_judged_by_the_embedded_address() {
        let cases = [
            ("::ffff:127.0.0.1", AddressKind::Loopback),
            ("::ffff:10.0.0.5", AddressKind::Private),
            ("::ffff:169.254.169.254", AddressKind::LinkLocal),
            ("::127.0.0.1", AddressKind::Loopback),
            ("64:ff9b::7f00:1", AddressKind::Loopback),
            ("64:ff9b::192.168.0.1", AddressKind::Private),
            ("2002:7f00:0001::1", AddressKind::Loopback),
            ("2002:0a00:0005::", AddressKind::Private),
        ];
        for (ip, kind) in cases {
            assert_eq!(ip_kind(ip), Some(kind), "{ip}");
        }
    }

    #[test]
    fn url_refuses_loopback_and_private_literals_in_every_spelling() {
        for url in [
            "http://127.0.0.1/",
            "http://[::1]/",
            "http://2130706433/",
            "http://0177.0.0.1/",
            "http://0x7f.0.0.1/",
            "http://0x7f000001/",
            "http://127.1/",
            "http://10.1.2.3/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00::1]/",
            "http://[::ffff:127.0.0.1]/",
            "https://[fe80::1]:8443/feed",
            "http://0.0.0.0:8080/",
        ] {
            assert!(
                matches!(url_verdict(url), Err(ForbiddenAddress::Ip { .. })),
                "{url} should be refused, got {:?}",
                url_verdict(url)
            );
        }
    }

    #[test]
    fn url_refuses_localhost_names() {
        for url in [
            "http://localhost/",
            "http://LOCALHOST:8080/x",
            "http://localhost./",
            "http://admin.localhost/",
        ] {
            assert!(
                matches!(url_verdict(url), Err(ForbiddenAddress::LocalName { .. })),
                "{url}"
            );
        }
    }

    #[test]
    fn url_refuses_schemes_other_than_http() {
        let err = url_verdict("file:///etc/passwd").unwrap_err();
        assert_eq!(
            err,
            ForbiddenAddress::Scheme {
                scheme: "file".into()
            }
        );
        assert_eq!(
            err.to_string(),
            "blocked: only http and https URLs can be sources, not `file:`"
        );
        assert!(url_verdict("ftp://example.com/feed.xml").is_err());
        assert!(url_verdict("gopher://example.com/").is_err());
    }

    #[test]
    fn url_accepts_public_names_and_addresses() {
        for url in [
            "https://example.com/feed.xml",
            "http://news.example.org:8080/rss?x=1",
            "https://93.184.216.34/feed",
            "https://[2606:4700:4700::1111]/",
            "http://localhost.example.com/",
        ] {
            assert_eq!(url_verdict(url), Ok(()), "{url}");
        }
    }

    #[test]
    fn blocked_message_names_the_address_and_why() {
        let err = url_verdict("http://10.1.2.3/").unwrap_err();
        assert_eq!(
            err.to_string(),
            "blocked: 10.1.2.3 is a private address; sources must be public http(s) addresses"
        );
        let resolved = ForbiddenAddress::Resolved {
            host: "example.com".into(),
            ip: "10.0.0.5".parse().unwrap(),
            kind: AddressKind::Private,
        };
        assert_eq!(
            resolved.to_string(),
            "blocked: example.com resolves to 10.0.0.5, a private address; \
             sources must be public http(s) addresses"
        );
    }

    #[test]
    fn a_name_is_refused_if_any_resolved_address_is_private() {
        let public: SocketAddr = "93.184.216.34:0".parse().unwrap();
        let private: SocketAddr = "10.0.0.5:0".parse().unwrap();
        assert_eq!(check_resolved("example.com", &[public]), Ok(()));
        let err = check_resolved("example.com", &[public, private]).unwrap_err();
        assert_eq!(
            err,
            ForbiddenAddress::Resolved {
                host: "example.com".into(),
                ip: private.ip(),
                kind: AddressKind::Private,
            }
        );
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:0".parse().unwrap();
        assert!(check_resolved("rebind.example", &[mapped]).is_err());
    }

    #[tokio::test]
    async fn guarded_resolver_refuses_localhost_by_name() {
        let err = GuardedResolver
            .resolve("localhost".parse().unwrap())
            .await
            .err()
            .expect("localhost must be refused");
        assert!(matches!(
            err.downcast_ref::<ForbiddenAddress>(),
            Some(ForbiddenAddress::LocalName { .. })
        ));
    }

    #[tokio::test]
    async fn unchecked_resolver_resolves_localhost() {
        let addrs: Vec<_> = UncheckedResolver
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(!addrs.is_empty());
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
    }
}
