//! Return-URL checks as GOV.UK Pay's connector makes them: an absolute http or https URL with
//! a valid host (local host names allowed, `//` in paths allowed), like Apache Commons'
//! UrlValidator with ALLOW_LOCAL_URLS and ALLOW_2_SLASHES. The TLD list is approximated: any
//! alphabetic TLD of two or more letters.

/// True when `url` would pass GOV.UK Pay's URL validation.
pub fn is_valid(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return false;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if !authority_ok(authority) {
        return false;
    }
    let (before_fragment, _fragment) = tail.split_once('#').unwrap_or((tail, ""));
    let (path, query) = before_fragment
        .split_once('?')
        .unwrap_or((before_fragment, ""));
    path_ok(path) && !query.chars().any(char::is_whitespace)
}

/// True when the URL begins with `https://` (required for live services).
pub fn is_https(url: &str) -> bool {
    url.starts_with("https://")
}

fn authority_ok(authority: &str) -> bool {
    let host_port = match authority.rsplit_once('@') {
        Some((userinfo, hp)) => {
            if userinfo.is_empty() || userinfo.chars().any(|c| c.is_whitespace() || c == '/') {
                return false;
            }
            hp
        }
        None => authority,
    };
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        match v6.split_once(']') {
            Some((addr, rest)) => {
                if addr.parse::<std::net::Ipv6Addr>().is_err() {
                    return false;
                }
                (None, rest.strip_prefix(':'))
            }
            None => return false,
        }
    } else {
        match host_port.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(host_port), None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
        if p.parse::<u32>().map_or(true, |n| n > 65535) {
            return false;
        }
    }
    match host {
        None => true,
        Some(h) => host_ok(h),
    }
}

fn host_ok(host: &str) -> bool {
    if host.is_empty() || host.len() > 253 {
        return false;
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return host.parse::<std::net::Ipv4Addr>().is_ok();
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if !labels.iter().all(label_ok) {
        return false;
    }
    match labels.as_slice() {
        [_single] => true,
        [.., tld] => tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()),
        [] => false,
    }
}

fn path_ok(path: &str) -> bool {
    if path.is_empty() {
        return true;
    }
    if !path.starts_with('/') {
        return false;
    }
    let allowed = |c: char| c.is_alphanumeric() || "-:@&?=+,.!/~*'%$_;()".contains(c);
    if !path.chars().all(allowed) {
        return false;
    }
    // No climbing above the root: "/../x" is refused.
    let mut depth: i32 = 0;
    for seg in path.split('/').skip(1) {
        match seg {
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            "." | "" => {}
            _ => depth += 1,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_gov_uk_pay_accepts() {
        for ok in [
            "https://service.gov.uk/return",
            "http://localhost:3000/done?x=1#top",
            "https://example.org",
            "https://example.org//double//slash",
            "http://127.0.0.1:8080/r",
            "http://myhost/r",
            "https://user:pw@example.org/",
            "http://[::1]:9000/x",
        ] {
            assert!(is_valid(ok), "{ok}");
        }
    }

    #[test]
    fn refuses_the_rest() {
        for bad in [
            "",
            "not a url",
            "ftp://example.org/",
            "https://",
            "https://exa mple.org/",
            "https://example.org/a b",
            "https://example.org:99999/",
            "https://example.123/",
            "https://-bad-.org/",
            "https://example.org/../etc",
            "//example.org/",
            "https://example.org/?q=a b",
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
    }
}
