//! The adapter to etcd: its v3 API through the JSON gateway (`/v3/kv/range`, `/v3/kv/txn`,
//! `/v3/lease/grant`, `/v3/auth/authenticate`, `/v3/cluster/member/list`) with the
//! blocking reqwest client ccf already builds for notifications.
//!
//! One [`Client`] lives for one run and holds that run's whole time budget
//! (`fleet.timeout`): the time spent waiting on etcd adds up across the run's requests
//! (the swap between the read and the heartbeat does not count), and every request gets
//! what is left, shared among the endpoints still to try, so a dead member costs a
//! refused connection and a hung one its share.
//! Once the cluster failed in a run, later calls fail at once with the same words: the
//! run goes on as a single host and the fleet costs it no more time.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Value, json};

use super::record::Kv;
use crate::config::Fleet;

/// The most keys one read takes: a fleet is a few hosts and accounts, and a range of
/// millions (a hostile writer) must not make the run read them all.
const MAX_KEYS: u32 = 10_000;

/// The largest answer ccf reads: a fleet's range is kilobytes, and a hostile writer's
/// megabyte values must not fill the memory of every host.
const MAX_BODY: u64 = 4 << 20;

pub struct Client {
    http: reqwest::blocking::Client,
    endpoints: Vec<String>,
    /// The endpoint that answered last, tried first next time.
    first: usize,
    /// The time this run has waited on etcd so far, of `budget`.
    spent: Duration,
    budget: Duration,
    token: Option<String>,
    /// Why the cluster failed this run, once it has.
    down: Option<String>,
}

/// A key's value as a string for JSON (etcd's gateway wants bytes in base64).
fn b64(bytes: impl AsRef<[u8]>) -> String {
    B64.encode(bytes)
}

/// The first key after every key that starts with `prefix` (etcd's `range_end`).
fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// An int64 of the gateway's JSON: a string (proto3's mapping) or, leniently, a number.
fn int(v: &Value) -> i64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_i64())
        .unwrap_or(0)
}

impl Client {
    /// A client for `cfg` whose budget starts now; authenticates when a username is set.
    /// `env` reads the process environment (the password's variable).
    pub fn connect(cfg: &Fleet, env: &dyn Fn(&str) -> Option<String>) -> Result<Client, String> {
        crate::notify::channel::install_crypto_provider();
        let mut b = reqwest::blocking::Client::builder()
            .connect_timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("ccf/", env!("CARGO_PKG_VERSION")));
        // Without https the system's roots are never needed, and loading them is most
        // of what building the client costs (milliseconds on every run).
        if cfg.endpoints.iter().all(|e| e.starts_with("http://")) {
            b = b.tls_certs_only([]);
        }
        if let Some(ca) = &cfg.ca_file {
            let pem = std::fs::read(ca)
                .map_err(|e| format!("failed to read fleet.ca_file {}: {e}", ca.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                format!(
                    "fleet.ca_file {} holds no PEM certificate: {e}",
                    ca.display()
                )
            })?;
            // The cluster's own CA is the only root its certificates need: the system's
            // are not loaded (that costs milliseconds a run) and cannot vouch for it.
            b = b.tls_certs_only(certs);
        }
        if let (Some(cert), Some(key)) = (&cfg.cert_file, &cfg.key_file) {
            let mut pem = std::fs::read(cert)
                .map_err(|e| format!("failed to read fleet.cert_file {}: {e}", cert.display()))?;
            pem.push(b'\n');
            pem.extend(
                std::fs::read(key)
                    .map_err(|e| format!("failed to read fleet.key_file {}: {e}", key.display()))?,
            );
            let id = reqwest::Identity::from_pem(&pem).map_err(|e| {
                format!("fleet.cert_file/key_file are not a PEM certificate and key: {e}")
            })?;
            b = b.identity(id);
        }
        let http = b
            .build()
            .map_err(|e| format!("failed to build the fleet's HTTP client: {e}"))?;
        let mut c = Client {
            http,
            endpoints: cfg.endpoints.clone(),
            first: 0,
            spent: Duration::ZERO,
            budget: cfg.timeout,
            token: None,
            down: None,
        };
        if let Some(user) = &cfg.username {
            let source = crate::secret::Source::of(
                None,
                cfg.password_file.as_ref(),
                cfg.password_env.as_ref(),
            )
            .ok_or("fleet.username is set without password_file or password_env")?;
            let password = crate::secret::resolve(source, env)
                .map_err(|u| format!("fleet password for {user:?}: {}", u.why))?;
            let reply = c.call(
                "/v3/auth/authenticate",
                &json!({"name": user, "password": password.expose()}),
            )?;
            let token = reply["token"]
                .as_str()
                .ok_or("etcd's authenticate answered without a token")?;
            c.token = Some(token.to_string());
        }
        Ok(c)
    }

    /// Why the cluster failed this run, if it has.
    pub fn down(&self) -> Option<&str> {
        self.down.as_deref()
    }

    /// POSTs `body` to `path`: each endpoint in turn (the last that answered first),
    /// within what is left of the run's budget. An error names the endpoints' failures;
    /// after one, every later call fails at once with it.
    pub fn call(&mut self, path: &str, body: &Value) -> Result<Value, String> {
        if let Some(why) = &self.down {
            return Err(why.clone());
        }
        let n = self.endpoints.len();
        let mut errors = Vec::new();
        for i in 0..n {
            let idx = (self.first + i) % n;
            let left = self.budget.saturating_sub(self.spent);
            if left.is_zero() {
                errors.push(format!(
                    "the run's fleet time ({}) is spent",
                    crate::human::duration(self.budget)
                ));
                break;
            }
            let share = left / u32::try_from(n - i).unwrap_or(1);
            let url = format!("{}{path}", self.endpoints[idx]);
            let started = Instant::now();
            let outcome = self.attempt(&url, body, share);
            self.spent += started.elapsed();
            match outcome {
                Ok(v) => {
                    self.first = idx;
                    return Ok(v);
                }
                Err(Failure::Refused(why)) => {
                    // Every member would say the same (a wrong password, a denied key).
                    self.down = Some(why.clone());
                    return Err(why);
                }
                Err(Failure::Unavailable(why)) => errors.push(why),
                // This request, not the cluster: the run goes on using it.
                Err(Failure::Rejected(why)) => return Err(why),
            }
        }
        let why = format!("etcd unreachable: {}", errors.join("; "));
        self.down = Some(why.clone());
        Err(why)
    }

    fn attempt(&self, url: &str, body: &Value, timeout: Duration) -> Result<Value, Failure> {
        let mut req = self.http.post(url).timeout(timeout).json(body);
        if let Some(t) = &self.token {
            req = req.header("Authorization", t);
        }
        let resp = req.send().map_err(|e| {
            let what = if e.is_timeout() {
                "no answer in time".to_string()
            } else if e.is_connect() {
                "connection failed".to_string()
            } else {
                e.without_url().to_string()
            };
            Failure::Unavailable(format!("{url}: {what}"))
        })?;
        let status = resp.status();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(resp, MAX_BODY + 1), &mut bytes)
            .map_err(|e| Failure::Unavailable(format!("{url}: {e}")))?;
        if bytes.len() as u64 > MAX_BODY {
            return Err(Failure::Unavailable(format!(
                "{url}: the answer is larger than {} MiB",
                MAX_BODY >> 20
            )));
        }
        let text = String::from_utf8_lossy(&bytes);
        let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status.is_success() && v.is_object() {
            return Ok(v);
        }
        let message = v["message"]
            .as_str()
            .or_else(|| v["error"].as_str())
            .map_or_else(
                || crate::human::printable(&text).chars().take(200).collect(),
                String::from,
            );
        // gRPC codes: 3 invalid argument (bad password), 7 permission denied,
        // 16 unauthenticated; anything else (14 unavailable: no leader) is worth the
        // next member.
        match v["code"].as_i64() {
            // 5 not found: a lease that expired.
            Some(5) => Err(Failure::Rejected(format!("etcd: {message}"))),
            Some(3 | 7 | 16) => Err(Failure::Refused(format!(
                "etcd refused {}: {message}",
                url.rsplit_once("/v3/").map_or(url, |(_, p)| p)
            ))),
            _ => Err(Failure::Unavailable(format!(
                "{url}: HTTP {status}: {message}"
            ))),
        }
    }

    /// Every key under `prefix`, with its revision.
    pub fn range(&mut self, prefix: &str) -> Result<Vec<Kv>, String> {
        let reply = self.call(
            "/v3/kv/range",
            &json!({"key": b64(prefix), "range_end": b64(prefix_end(prefix)), "limit": MAX_KEYS}),
        )?;
        let kvs = reply["kvs"].as_array().cloned().unwrap_or_default();
        Ok(kvs
            .iter()
            .filter_map(|kv| {
                let key = B64.decode(kv["key"].as_str()?).ok()?;
                Some(Kv {
                    key: String::from_utf8_lossy(&key).into_owned(),
                    value: B64.decode(kv["value"].as_str().unwrap_or_default()).ok()?,
                    mod_revision: int(&kv["mod_revision"]),
                })
            })
            .collect())
    }

    /// A lease of `ttl`, at least a minute and at most 30 days (etcd refuses a lease
    /// longer than its own maximum, and no limit runs longer than a week).
    pub fn grant(&mut self, ttl: Duration) -> Result<i64, String> {
        let secs = ttl.as_secs().clamp(60, 30 * 86_400);
        let reply = self.call("/v3/lease/grant", &json!({"TTL": secs.to_string()}))?;
        match int(&reply["ID"]) {
            0 => Err(format!("etcd granted no lease: {reply}")),
            id => Ok(id),
        }
    }

    /// Puts `value` at `key` under `lease` if the key's revision is still `revision`
    /// (0: the key is absent). `Ok(None)`: written; `Ok(Some(now))`: someone wrote first,
    /// and this is what the key holds now (`None` inside when it is gone).
    pub fn put_if(
        &mut self,
        key: &str,
        value: &[u8],
        lease: i64,
        revision: i64,
    ) -> Result<Option<Option<Kv>>, String> {
        let reply = self.call(
            "/v3/kv/txn",
            &json!({
                "compare": [{"key": b64(key), "target": "MOD", "result": "EQUAL", "mod_revision": revision.to_string()}],
                "success": [{"request_put": {"key": b64(key), "value": b64(value), "lease": lease.to_string()}}],
                "failure": [{"request_range": {"key": b64(key)}}],
            }),
        )?;
        if reply["succeeded"].as_bool() == Some(true) {
            return Ok(None);
        }
        let kv = &reply["responses"][0]["response_range"]["kvs"][0];
        let current = kv["value"]
            .as_str()
            .and_then(|v| B64.decode(v).ok())
            .map(|value| Kv {
                key: key.to_string(),
                value,
                mod_revision: int(&kv["mod_revision"]),
            });
        Ok(Some(current))
    }

    /// Puts `value` at `key` under `lease`, unconditionally (this host's own heartbeat).
    pub fn put(&mut self, key: &str, value: &[u8], lease: i64) -> Result<(), String> {
        self.call(
            "/v3/kv/put",
            &json!({"key": b64(key), "value": b64(value), "lease": lease.to_string()}),
        )
        .map(drop)
    }

    /// The cluster's members: (name, client URLs).
    pub fn members(&mut self) -> Result<Vec<(String, Vec<String>)>, String> {
        let reply = self.call("/v3/cluster/member/list", &json!({}))?;
        Ok(reply["members"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| {
                let urls = m["clientURLs"]
                    .as_array()
                    .map(|u| {
                        u.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                (m["name"].as_str().unwrap_or("").to_string(), urls)
            })
            .collect())
    }
}

enum Failure {
    /// This member cannot answer now (down, no leader, timed out): try the next.
    Unavailable(String),
    /// The cluster said no (credentials, permissions): no other member will say yes.
    Refused(String),
    /// The cluster said no to this request alone (an expired lease): the caller may
    /// try another.
    Rejected(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_ends_at_the_next_key_after_all_of_it() {
        assert_eq!(prefix_end("/ccf/v1/"), b"/ccf/v10".to_vec());
        assert_eq!(prefix_end("a\u{7f}"), b"a\x80".to_vec());
    }

    #[test]
    fn the_gateway_spells_int64_as_strings_and_omits_zero() {
        assert_eq!(int(&json!("42")), 42);
        assert_eq!(int(&json!(42)), 42);
        assert_eq!(int(&Value::Null), 0);
    }
}
