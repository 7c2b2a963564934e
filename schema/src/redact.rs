//! Keeping secrets out of what the hub shows: logs, the positions of rows and rejects,
//! and the connector definitions the API serves. One rule everywhere: a URL keeps its
//! user but not its password, and the values of query parameters whose names look like
//! secrets ([`is_secret_name`]) are replaced; known secret values are scrubbed from text.

use percent_encoding::percent_decode_str;

/// What stands in for a hidden value.
pub const REDACTED: &str = "REDACTED";

/// Words that make a parameter or header name look like a secret. Names are split into
/// words at punctuation and at lower-to-upper case changes (`X-Api-Key`, `access_token`,
/// `accessToken`), and a name is secret when one of its words is one of these.
const SECRET_WORDS: [&str; 17] = [
    "key",
    "apikey",
    "token",
    "secret",
    "password",
    "passwd",
    "pwd",
    "signature",
    "sig",
    "auth",
    "authorization",
    "credential",
    "credentials",
    "sessionid",
    "cookie",
    "jwt",
    "bearer",
];

/// Whether a query parameter, header or field name looks like it carries a secret.
pub fn is_secret_name(name: &str) -> bool {
    let name = percent_decode_str(name).decode_utf8_lossy();
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut previous_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            words.push(std::mem::take(&mut current));
            previous_lower = false;
            continue;
        }
        if c.is_uppercase() && previous_lower {
            words.push(std::mem::take(&mut current));
        }
        previous_lower = c.is_lowercase() || c.is_ascii_digit();
        current.extend(c.to_lowercase());
    }
    words.push(current);
    words
        .iter()
        .any(|word| SECRET_WORDS.contains(&word.as_str()))
}

/// The parts of a URL that may hold secrets.
struct UrlParts<'a> {
    /// Everything before the user info, `scheme://`.
    scheme: &'a str,
    /// User info, without its `@`.
    userinfo: Option<&'a str>,
    /// Host, port and path.
    rest: &'a str,
    /// The query string, without its `?`.
    query: Option<&'a str>,
}

impl<'a> UrlParts<'a> {
    /// Splits `url`; `None` when it is not `scheme://...`.
    fn of(url: &'a str) -> Option<UrlParts<'a>> {
        let before_fragment = url.split_once('#').map_or(url, |(before, _)| before);
        let (head, query) = match before_fragment.split_once('?') {
            Some((head, query)) => (head, Some(query)),
            None => (before_fragment, None),
        };
        let authority_start = head.find("://")? + 3;
        let authority_end = head[authority_start..]
            .find('/')
            .map_or(head.len(), |i| authority_start + i);
        let (userinfo, host) = match head[authority_start..authority_end].rsplit_once('@') {
            Some((userinfo, host)) => (Some(userinfo), host),
            None => (None, &head[authority_start..authority_end]),
        };
        let _ = host;
        let rest_start = userinfo.map_or(authority_start, |u| authority_start + u.len() + 1);
        Some(UrlParts {
            scheme: &head[..authority_start],
            userinfo,
            rest: &head[rest_start..],
            query,
        })
    }

    /// Whether the user info holds a secret: a password, or on the web a user name
    /// alone (APIs take tokens there: `https://TOKEN@api.example`).
    fn userinfo_is_secret(&self) -> bool {
        match self.userinfo {
            Some(userinfo) => {
                userinfo.contains(':') || self.scheme.to_ascii_lowercase().starts_with("http")
            }
            None => false,
        }
    }
}

/// `url` with the secrets of its user info (a password; on the web, a user name alone)
/// and the values of secret-looking query parameters replaced by [`REDACTED`], and
/// without a fragment. Text that is not a URL comes back unchanged.
pub fn url(url: &str) -> String {
    let Some(parts) = UrlParts::of(url) else {
        return url.to_string();
    };
    let mut out = String::with_capacity(url.len());
    out.push_str(parts.scheme);
    if let Some(userinfo) = parts.userinfo {
        match (userinfo.split_once(':'), parts.userinfo_is_secret()) {
            (Some((user, _password)), _) => {
                out.push_str(user);
                out.push(':');
                out.push_str(REDACTED);
            }
            (None, true) => out.push_str(REDACTED),
            (None, false) => out.push_str(userinfo),
        }
        out.push('@');
    }
    out.push_str(parts.rest);
    if let Some(query) = parts.query {
        out.push('?');
        out.push_str(&query_string(query));
    }
    out
}

/// Whether `url` holds a secret that [`url`] would hide.
pub fn url_has_secret(url: &str) -> bool {
    UrlParts::of(url).is_some_and(|parts| {
        parts.userinfo_is_secret()
            || parts.query.is_some_and(|query| {
                query
                    .split('&')
                    .filter_map(|pair| pair.split_once('=').map(|(name, _)| name))
                    .any(is_secret_name)
            })
    })
}

/// A query string (`a=1&api_key=x`) with the values of secret-looking names replaced.
pub fn query_string(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if is_secret_name(name) => format!("{name}={REDACTED}"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `text` with every occurrence of each of `secrets` (token values read from the
/// environment, say) replaced by [`REDACTED`].
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_string();
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), REDACTED);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_secret_parameters_are_hidden() {
        assert_eq!(
            url("postgres://abe:s3cret@db:5432/abe"),
            "postgres://abe:REDACTED@db:5432/abe"
        );
        assert_eq!(url("postgres://abe@db/abe"), "postgres://abe@db/abe");
        assert_eq!(url("sqlite://abe-hub.db"), "sqlite://abe-hub.db");
        assert_eq!(url("data/lao.csv"), "data/lao.csv");
        assert_eq!(
            url("https://u:p@data.example/api?province=%E0%B8%AA&api_key=abc&accessToken=x#f"),
            "https://u:REDACTED@data.example/api?province=%E0%B8%AA&api_key=REDACTED&accessToken=REDACTED"
        );
        assert_eq!(
            url("postgres://u@h/db?sslmode=require&password=p"),
            "postgres://u@h/db?sslmode=require&password=REDACTED"
        );
        // A password holding `@` still goes.
        assert_eq!(url("mysql://u:p@ss@h/db"), "mysql://u:REDACTED@h/db");
        // On the web a user name alone is a token.
        assert_eq!(
            url("https://ghp_abc@api.github.com/repos"),
            "https://REDACTED@api.github.com/repos"
        );
        // A URL inside the query of a path is no URL of its own.
        assert_eq!(
            url("lists/p.json?src=https://u:p@x/y"),
            "lists/p.json?src=https://u:p@x/y"
        );
    }

    #[test]
    fn secrets_are_told_from_fragments_and_plain_parameters() {
        assert!(url_has_secret("postgres://u:p@h/db"));
        assert!(url_has_secret("https://tok@api.example/"));
        assert!(url_has_secret("https://api.example/v1?api_key=x"));
        assert!(!url_has_secret("postgres://reader@h/db"));
        assert!(!url_has_secret("https://api.example/v1?province=90#top"));
        assert!(!url_has_secret("data/file.csv"));
    }

    #[test]
    fn secret_names_are_recognised_whatever_their_spelling() {
        for name in [
            "X-API-Key",
            "api_key",
            "apikey",
            "Authorization",
            "access-token",
            "accessToken",
            "sessionid",
            "Cookie",
            "sig",
            "client_secret",
            "sessionid",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "province",
            "page",
            "limit",
            "Accept-Language",
            "year",
            "keyword",
            "author",
            "monkey",
            "pass_rate",
            "session",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn known_values_are_scrubbed() {
        let secrets = vec!["t0ken".to_string(), String::new()];
        assert_eq!(scrub("bad t0ken here", &secrets), "bad REDACTED here");
    }
}
