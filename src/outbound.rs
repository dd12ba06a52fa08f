//! The one way Latch reaches an address someone else chose: back-channel
//! logout URIs today; client `jwks_uri`s, Shared Signals receivers and mail
//! hosts as they come. Whoever registers a URI must not be able to point
//! Latch at what only Latch can reach (server-side request forgery):
//!
//! - the name is resolved once, every address it resolves to is checked,
//!   and the connection goes only to those checked addresses — a second
//!   lookup that answers differently (DNS rebinding) never happens;
//! - link-local and cloud-metadata addresses are always refused;
//! - loopback, private and unspecified addresses are refused unless the
//!   `outbound_allow_private_networks` setting is on (demos, tests, a
//!   relying party on the same private network);
//! - no proxy from the environment, no redirects, a timeout, and a cap on
//!   the body read; errors say what failed, never what the other side sent.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use crate::error::Error;

/// A whole exchange, connection included.
const TIMEOUT: Duration = Duration::from_secs(5);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// Which addresses may be reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// Loopback, private (RFC 1918, RFC 4193, shared) and unspecified.
    pub allow_private_networks: bool,
}

/// Why an address is not reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    LinkLocal,
    CloudMetadata,
    /// Multicast, broadcast or reserved: nothing to speak HTTP to.
    NotUnicast,
    Loopback,
    Private,
    Unspecified,
}

impl Class {
    /// Whether the setting can allow it.
    fn private(self) -> bool {
        matches!(self, Class::Loopback | Class::Private | Class::Unspecified)
    }

    fn describe(self) -> &'static str {
        match self {
            Class::LinkLocal => "a link-local address",
            Class::CloudMetadata => "a cloud metadata address",
            Class::NotUnicast => "not a unicast address",
            Class::Loopback => "a loopback address",
            Class::Private => "a private address",
            Class::Unspecified => "an unspecified address",
        }
    }
}

/// An address the policy does not reach; the message names the setting
/// when the setting would change the answer.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{address} is {}{}", .class.describe(), advice(*.class))]
pub struct Refused {
    pub address: IpAddr,
    pub class: Class,
}

fn advice(class: Class) -> &'static str {
    if class.private() {
        " (outbound_allow_private_networks is off)"
    } else {
        " (never reached)"
    }
}

impl Policy {
    /// Whether `address` may be connected to.
    pub fn check(self, address: IpAddr) -> Result<(), Refused> {
        match classify(address) {
            Some(class) if !(class.private() && self.allow_private_networks) => {
                Err(Refused { address, class })
            }
            _ => Ok(()),
        }
    }
}

/// What kind of special address this is; `None` for a public one.
pub fn classify(address: IpAddr) -> Option<Class> {
    match address {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => classify_v4(v4),
            None => classify_v6(v6),
        },
    }
}

/// Metadata services that answer on addresses outside link-local.
const METADATA_V4: [Ipv4Addr; 3] = [
    Ipv4Addr::new(100, 100, 100, 200), // Alibaba Cloud
    Ipv4Addr::new(168, 63, 129, 16),   // Azure WireServer
    Ipv4Addr::new(192, 0, 0, 192),     // Oracle Cloud
];
/// AWS's instance metadata over IPv6.
const METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);

fn classify_v4(v4: Ipv4Addr) -> Option<Class> {
    let [a, b, ..] = v4.octets();
    if v4.is_link_local() {
        Some(Class::LinkLocal)
    } else if METADATA_V4.contains(&v4) {
        Some(Class::CloudMetadata)
    } else if v4.is_multicast() || v4.is_broadcast() || a >= 240 {
        Some(Class::NotUnicast)
    } else if v4.is_loopback() {
        Some(Class::Loopback)
    } else if a == 0 {
        Some(Class::Unspecified)
    } else if v4.is_private() || (a == 100 && (64..128).contains(&b)) {
        // RFC 1918, and RFC 6598's shared space behind carrier NAT.
        Some(Class::Private)
    } else {
        None
    }
}

fn classify_v6(v6: Ipv6Addr) -> Option<Class> {
    let first = v6.segments()[0];
    if first & 0xffc0 == 0xfe80 {
        Some(Class::LinkLocal)
    } else if v6 == METADATA_V6 {
        Some(Class::CloudMetadata)
    } else if v6.is_multicast() {
        Some(Class::NotUnicast)
    } else if v6.is_loopback() {
        Some(Class::Loopback)
    } else if v6.is_unspecified() {
        Some(Class::Unspecified)
    } else if first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfec0 {
        // Unique local (RFC 4193) and the old site-local.
        Some(Class::Private)
    } else {
        None
    }
}

/// The IPv4 address an IPv6 one stands for: IPv4-mapped (`::ffff:a.b.c.d`)
/// or the NAT64 well-known prefix (`64:ff9b::a.b.c.d`, RFC 6052).
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = v6.segments();
    (s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]).then(|| {
        let [.., a, b, c, d] = v6.octets();
        Ipv4Addr::new(a, b, c, d)
    })
}

/// Why an outbound request failed, in words safe to record and show.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    #[error("`{0}` is not an http(s) URL with a host")]
    BadUrl(String),
    #[error("refused: {0}")]
    Refused(Refused),
    #[error("cannot resolve the host")]
    Unresolved,
    #[error("timed out")]
    TimedOut,
    #[error("connection failed")]
    ConnectionFailed,
    /// The answer's status was `status`, but its body passed the cap.
    #[error("the response is larger than {cap} bytes")]
    TooLarge { status: u16, cap: usize },
}

/// A response: its status and at most the capped body.
#[derive(Debug)]
pub struct Fetched {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Fetched {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The outbound HTTP client, one per server.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    policy: Policy,
}

impl Outbound {
    pub fn new(policy: Policy) -> Result<Outbound, Error> {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(CheckedResolver { policy }))
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("Latch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Unavailable(format!("cannot build the HTTP client: {e}")))?;
        Ok(Outbound { client, policy })
    }

    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// POSTs a form (`application/x-www-form-urlencoded`); reads at most
    /// `cap` bytes of the answer.
    pub async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        cap: usize,
    ) -> Result<Fetched, OutboundError> {
        let url = self.checked_url(url)?;
        self.exchange(self.client.post(url).form(form), cap).await
    }

    /// GETs a document, accepting `accept`; reads at most `cap` bytes.
    pub async fn get(&self, url: &str, accept: &str, cap: usize) -> Result<Fetched, OutboundError> {
        let url = self.checked_url(url)?;
        let request = self.client.get(url).header(reqwest::header::ACCEPT, accept);
        self.exchange(request, cap).await
    }

    /// An http(s) URL whose host, when written as an address, passes the
    /// policy (names are checked by the resolver, addresses never reach it).
    fn checked_url(&self, raw: &str) -> Result<reqwest::Url, OutboundError> {
        let url = reqwest::Url::parse(raw).map_err(|_| OutboundError::BadUrl(raw.into()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OutboundError::BadUrl(raw.into()));
        }
        let address = match url.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(OutboundError::BadUrl(raw.into())),
        };
        if let Some(address) = address {
            self.policy.check(address).map_err(OutboundError::Refused)?;
        }
        Ok(url)
    }

    async fn exchange(
        &self,
        request: reqwest::RequestBuilder,
        cap: usize,
    ) -> Result<Fetched, OutboundError> {
        let mut response = request.send().await.map_err(failure)?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failure)? {
            if body.len() + chunk.len() > cap {
                return Err(OutboundError::TooLarge { status, cap });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched { status, body })
    }
}

/// What went wrong, found in the error's chain: a refusal by the
/// resolver, a timeout, or any other failure to connect.
fn failure(error: reqwest::Error) -> OutboundError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return OutboundError::Refused(refused.clone());
        }
        if cause.downcast_ref::<Unresolved>().is_some() {
            return OutboundError::Unresolved;
        }
        source = cause.source();
    }
    if error.is_timeout() {
        OutboundError::TimedOut
    } else {
        OutboundError::ConnectionFailed
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot resolve the host")]
struct Unresolved;

/// Resolves with the system resolver, then hands the connector only
/// addresses the policy allows — all of them or none: a name with one
/// forbidden address is refused, so no answer order can pick it.
struct CheckedResolver {
    policy: Policy,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let (policy, host) = (self.policy, name.as_str().to_string());
        Box::pin(async move {
            let addresses = tokio::task::spawn_blocking(move || {
                (host.as_str(), 0)
                    .to_socket_addrs()
                    .map(|found| found.collect::<Vec<SocketAddr>>())
            })
            .await
            .map_err(|_| Unresolved)?
            .map_err(|_| Unresolved)?;
            if addresses.is_empty() {
                return Err(Unresolved.into());
            }
            for address in &addresses {
                policy.check(address.ip())?;
            }
            let addresses: reqwest::dns::Addrs = Box::new(addresses.into_iter());
            Ok(addresses)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    const STRICT: Policy = Policy {
        allow_private_networks: false,
    };
    const OPEN: Policy = Policy {
        allow_private_networks: true,
    };

    #[test]
    fn link_local_and_metadata_are_refused_whatever_the_setting() {
        for address in [
            "169.254.169.254",
            "169.254.0.1",
            "fe80::1",
            "fd00:ec2::254",
            "100.100.100.200",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "224.0.0.1",
            "255.255.255.255",
        ] {
            assert!(STRICT.check(ip(address)).is_err(), "{address}");
            assert!(OPEN.check(ip(address)).is_err(), "{address}");
        }
    }

    #[test]
    fn private_ranges_need_the_setting() {
        for address in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "::ffff:127.0.0.1",
        ] {
            let refused = STRICT.check(ip(address)).unwrap_err();
            assert!(
                refused
                    .to_string()
                    .contains("outbound_allow_private_networks"),
                "{refused}"
            );
            assert!(OPEN.check(ip(address)).is_ok(), "{address}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for address in ["93.184.215.14", "172.32.0.1", "2606:4700::1111", "8.8.8.8"] {
            assert!(STRICT.check(ip(address)).is_ok(), "{address}");
        }
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_is_refused_before_connecting() {
        let outbound = Outbound::new(STRICT).unwrap();
        let error = outbound
            .post_form("http://localhost:9/x", &[("a", "b")], 1024)
            .await
            .unwrap_err();
        assert!(matches!(error, OutboundError::Refused(_)), "{error}");
    }

    #[tokio::test]
    async fn an_address_literal_is_checked_too() {
        let outbound = Outbound::new(OPEN).unwrap();
        let error = outbound
            .get("http://[fe80::1]/", "application/json", 1024)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("link-local"), "{error}");
        let error = outbound
            .get("file:///etc/passwd", "text/plain", 1024)
            .await
            .unwrap_err();
        assert!(matches!(error, OutboundError::BadUrl(_)), "{error}");
    }
}
