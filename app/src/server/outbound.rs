//! Calls to servers a tenant admin can name: their identity provider's discovery document,
//! signing keys and token endpoint, and "Test connection".
//!
//! Only public internet addresses are called. The check is made on the addresses a name
//! resolves to, inside the HTTP client's own resolver, so it holds for the address actually
//! connected to (a name that resolves to an internal address, or changes its answer between two
//! lookups, is refused as well). Addresses written into a URL are checked before the request.
//! Redirects are not followed. The operator may allow named hosts on private networks
//! (`--allow-private-hosts`), as the tests do for their identity provider on 127.0.0.1.

use http_acl::HttpAcl;
use openidconnect::{HttpClientError, HttpRequest, HttpResponse};
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Which addresses may be called.
#[derive(Debug)]
struct AddressPolicy {
    /// Classifies addresses: loopback, private, link-local, unique-local, shared, documentation
    /// and other special-use ranges are not public.
    acl: HttpAcl,
    /// Host names (or written addresses) the operator allows whatever they resolve to.
    allowed_hosts: HashSet<String>,
}

impl AddressPolicy {
    fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.allowed_hosts.contains(&host.to_ascii_lowercase())
    }

    fn allows_address(&self, ip: IpAddr) -> bool {
        self.acl.is_ip_allowed(&ip).is_allowed()
    }
}

/// A name that resolves to no address Latchkey may call.
#[derive(Debug, thiserror::Error)]
#[error("{0} is not on a public network")]
struct NotPublic(String);

/// Resolves names for the HTTP client, keeping only the addresses the policy allows.
struct GuardedResolver(Arc<AddressPolicy>);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = if policy.allows_host(&host) {
                found
            } else {
                found
                    .into_iter()
                    .filter(|address| policy.allows_address(address.ip()))
                    .collect()
            };
            if allowed.is_empty() {
                return Err(Box::new(NotPublic(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP client for servers a tenant admin names.
pub struct Outbound {
    client: reqwest::Client,
    policy: Arc<AddressPolicy>,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("allowed_hosts", &self.policy.allowed_hosts)
            .finish_non_exhaustive()
    }
}

impl Outbound {
    /// `allowed_hosts`: names (or addresses as written in URLs) that may be on private networks.
    pub fn new(allowed_hosts: &[String]) -> Self {
        let policy = Arc::new(AddressPolicy {
            acl: HttpAcl::builder().ip_acl_default(true).build(),
            allowed_hosts: allowed_hosts
                .iter()
                .map(|h| {
                    h.trim()
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .to_ascii_lowercase()
                })
                .filter(|h| !h.is_empty())
                .collect(),
        });
        // Calls are few (a cached discovery, a token exchange per sign-in), so connections are
        // not pooled: a pooled connection belongs to the runtime that opened it, and this client
        // may outlive one (tests run a runtime each).
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver(policy.clone())))
            .pool_max_idle_per_host(0)
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("the HTTP client has a valid static configuration");
        Self { client, policy }
    }

    /// Whether a URL's host may be called as written: names are checked when they resolve, so
    /// only written addresses are judged here.
    pub fn may_call(&self, url: &reqwest::Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            Ok(written) => self.policy.allows_host(host) || self.policy.allows_address(written),
            Err(_) => true,
        }
    }

    /// One request, as the OpenID Connect client makes them.
    pub async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpClientError<reqwest::Error>> {
        let url = reqwest::Url::parse(&request.uri().to_string())
            .map_err(|_| HttpClientError::Other("not a URL".to_owned()))?;
        if !self.may_call(&url) {
            return Err(HttpClientError::Io(std::io::Error::other(NotPublic(
                url.host_str().unwrap_or_default().to_owned(),
            ))));
        }
        openidconnect::AsyncHttpClient::call(&self.client, request).await
    }
}

impl<'c> openidconnect::AsyncHttpClient<'c> for Outbound {
    type Error = HttpClientError<reqwest::Error>;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<HttpResponse, Self::Error>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(Outbound::call(self, request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_called_unless_the_operator_names_the_host() {
        let outbound = Outbound::new(&[]);
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        for internal in [
            "http://127.0.0.1:8080/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://169.254.169.254/latest/meta-data/",
            "https://100.64.0.1/",
            "https://0.0.0.0/",
            "https://[::1]/",
            "https://[fd00::1]/",
            "https://[fe80::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:10.0.0.1]/",
        ] {
            assert!(!outbound.may_call(&url(internal)), "{internal}");
        }
        for public in [
            "https://93.184.215.14/",
            "https://[2606:4700::1111]/",
            "https://login.example.com/",
        ] {
            assert!(outbound.may_call(&url(public)), "{public}");
        }
        let allowing = Outbound::new(&["127.0.0.1".into(), "[::1]".into()]);
        assert!(allowing.may_call(&url("http://127.0.0.1:8080/")));
        assert!(allowing.may_call(&url("http://[::1]:8080/")));
        assert!(!allowing.may_call(&url("http://10.0.0.1/")));
    }

    #[tokio::test]
    async fn names_that_resolve_to_internal_addresses_are_refused() {
        use reqwest::dns::Resolve;
        let refusing = GuardedResolver(Outbound::new(&[]).policy);
        let name = |n: &str| n.parse::<reqwest::dns::Name>().unwrap();
        assert!(refusing.resolve(name("localhost")).await.is_err());
        let allowing = GuardedResolver(Outbound::new(&["localhost".into()]).policy);
        let addresses: Vec<_> = allowing.resolve(name("localhost")).await.unwrap().collect();
        assert!(addresses.iter().all(|a| a.ip().is_loopback()) && !addresses.is_empty());
    }
}
