//! A lenient URL splitter (as a browser would read a link, not a strict RFC parser) and host checks:
//! IP literals in all the forms browsers accept, punycode, mixed-script and confusable labels,
//! registrable domains from the public suffix list.

use std::borrow::Cow;
use unicode_security::MixedScript;

/// The parts of a URL that the checks look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// Lower case; `http` when the link started with `www.`.
    pub scheme: String,
    pub userinfo: Option<&'a str>,
    /// Percent-decoded, lower case, trailing dot removed; IPv6 without brackets.
    pub host: String,
    /// Path only (no query or fragment), raw.
    pub path: &'a str,
    pub query: &'a str,
}

/// Splits a URL. Returns None for relative references and schemes without an authority
/// (`mailto:`, `tel:`, `javascript:`, `cid:`, `data:`).
pub fn parse(url: &str) -> Option<UrlParts<'_>> {
    let url = url.trim_matches(|c: char| c.is_whitespace() || c.is_control());
    let (scheme, rest) = match url.find(':') {
        Some(i)
            if i > 0
                && url.get(..i).is_some_and(|s| {
                    s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
                }) =>
        {
            let rest = url.get(i + 1..)?;
            // Browsers accept any number of slashes, and backslashes, after http:.
            let slashes = rest
                .bytes()
                .take_while(|b| *b == b'/' || *b == b'\\')
                .count();
            if slashes < 2
                && !(slashes > 0
                    && url.get(..i).is_some_and(|s| {
                        s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https")
                    }))
            {
                return None;
            }
            (url.get(..i)?.to_ascii_lowercase(), rest.get(slashes..)?)
        }
        _ => {
            if url.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("www.")) {
                ("http".to_owned(), url)
            } else if let Some(r) = url.strip_prefix("//") {
                ("http".to_owned(), r)
            } else {
                return None;
            }
        }
    };
    let auth_end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..auth_end)?;
    let tail = rest.get(auth_end..)?;
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(at) => (authority.get(..at), authority.get(at + 1..)?),
        None => (None, authority),
    };
    let host_raw = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        // Hosts hold no ':'; whatever follows is a port (possibly a template placeholder).
        hostport.split(':').next().unwrap_or("")
    };
    // DNS names are at most 253 bytes; a longer "host" is junk (and would cost IDNA time).
    if host_raw.len() > 1024 {
        return None;
    }
    let host = percent_decode(host_raw);
    let host = host.trim_end_matches('.').to_lowercase();
    if host.is_empty() {
        return None;
    }
    let path_end = tail.find(['?', '#']).unwrap_or(tail.len());
    let path = tail.get(..path_end).unwrap_or("");
    let query = tail.get(path_end..).unwrap_or("");
    Some(UrlParts {
        scheme,
        userinfo,
        host,
        path,
        query,
    })
}

/// Percent-decodes (invalid UTF-8 becomes U+FFFD).
pub fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            if let Some(v) = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// How a host names an IP address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpForm {
    /// 192.0.2.1
    Dotted,
    /// 3221225985, 0xC0000201, 0300.0.2.1, 192.1: the forms browsers accept to hide an address.
    Obfuscated,
    V6,
}

/// Whether the host is an IP literal, and in which form (WHATWG IPv4 parsing: 1-4 parts, each decimal,
/// 0x-hex or 0-octal).
pub fn ip_form(host: &str) -> Option<IpForm> {
    if host.contains(':') {
        return host
            .parse::<std::net::Ipv6Addr>()
            .is_ok()
            .then_some(IpForm::V6);
    }
    let parts: Vec<&str> = host.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut plain = parts.len() == 4;
    for p in &parts {
        let (digits, radix) = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X"))
        {
            (h, 16)
        } else if p.len() > 1 && p.starts_with('0') {
            (p.get(1..).unwrap_or(""), 8)
        } else {
            (*p, 10)
        };
        if radix != 10 {
            plain = false;
        }
        if digits.is_empty() && radix == 16 {
            continue;
        }
        if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
            return None;
        }
        // Values beyond 32 bits are not addresses; cap the digits to avoid overflow.
        if digits.len() > 12
            || u64::from_str_radix(digits, radix).map_or(true, |v| v > u32::MAX as u64)
        {
            return None;
        }
        if radix == 10 && digits.parse::<u64>().map_or(true, |v| v > 255) {
            plain = false;
        }
    }
    Some(if plain {
        IpForm::Dotted
    } else {
        IpForm::Obfuscated
    })
}

/// The host in ASCII (punycode) form, when it is a valid domain name.
pub fn ascii_host(host: &str) -> Cow<'_, str> {
    if host.is_ascii() {
        return Cow::Borrowed(host);
    }
    match idna::domain_to_ascii(host) {
        Ok(a) => Cow::Owned(a),
        Err(_) => Cow::Borrowed(host),
    }
}

/// The registrable domain ("example.co.jp" for "www.example.co.jp"), lower case ASCII.
/// IP literals and single labels are their own domain.
pub fn registrable_domain(host: &str) -> String {
    let ascii = ascii_host(host);
    let ascii = ascii.trim_end_matches('.').to_ascii_lowercase();
    if ip_form(&ascii).is_some() {
        return ascii;
    }
    psl::domain_str(&ascii).map_or_else(|| ascii.clone(), str::to_owned)
}

/// Whether `s` ends in a suffix that the public suffix list knows (so "paypal.com" is a domain, "file.txt" is not).
pub fn has_known_suffix(host: &str) -> bool {
    let ascii = ascii_host(host).to_ascii_lowercase();
    psl::suffix(ascii.as_bytes()).is_some_and(|s| s.is_known()) && ascii.contains('.')
}

/// Why a host's labels look like another name: the unicode label and the reason.
pub fn confusable_label(host: &str) -> Option<(String, &'static str)> {
    let unicode: Cow<'_, str> = if host.is_ascii() && !host.contains("xn--") {
        return None;
    } else if host.is_ascii() {
        Cow::Owned(idna::domain_to_unicode(host).0)
    } else {
        Cow::Borrowed(host)
    };
    for label in unicode.split('.') {
        if label.is_ascii() {
            continue;
        }
        if !label.is_single_script() {
            return Some((label.to_owned(), "mixes scripts"));
        }
        let skel: String = unicode_security::skeleton(label).collect();
        if skel.is_ascii() && skel.chars().any(|c| c.is_ascii_alphabetic()) {
            return Some((label.to_owned(), "looks like an ASCII name"));
        }
    }
    None
}

/// The unicode form of a punycode host (for details).
pub fn unicode_host(host: &str) -> String {
    idna::domain_to_unicode(host).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_authority() {
        let u = parse("HTTPS://bank.example@Evil.Example.:8080/a/b.exe?x=1#f")
            .unwrap_or_else(|| panic!());
        assert_eq!(u.scheme, "https");
        assert_eq!(u.userinfo, Some("bank.example"));
        assert_eq!(u.host, "evil.example");
        assert_eq!(u.path, "/a/b.exe");
        assert_eq!(u.query, "?x=1#f");
        assert_eq!(
            parse("www.example.com/x").map(|u| (u.scheme, u.host)),
            Some(("http".to_owned(), "www.example.com".to_owned()))
        );
        assert_eq!(
            parse("http://[2001:db8::1]:80/").map(|u| u.host),
            Some("2001:db8::1".to_owned())
        );
        assert!(parse("mailto:a@b.example").is_none());
        assert!(parse("/relative").is_none());
        assert!(parse("javascript:alert(1)").is_none());
        assert_eq!(
            parse("http://user@@@phishing.com/page").and_then(|u| u.userinfo),
            Some("user@@")
        );
    }

    #[test]
    fn ip_forms() {
        assert_eq!(ip_form("192.0.2.1"), Some(IpForm::Dotted));
        assert_eq!(ip_form("3221225985"), Some(IpForm::Obfuscated));
        assert_eq!(ip_form("0xc0000201"), Some(IpForm::Obfuscated));
        assert_eq!(ip_form("0300.0.2.1"), Some(IpForm::Obfuscated));
        assert_eq!(ip_form("2001:db8::1"), Some(IpForm::V6));
        assert_eq!(ip_form("example.com"), None);
        assert_eq!(ip_form("1.2.3.4.5"), None);
        assert_eq!(ip_form("99999999999"), None);
        assert_eq!(ip_form("08.1.1.1"), None);
    }

    #[test]
    fn registrable_domains() {
        assert_eq!(registrable_domain("www.example.co.jp"), "example.co.jp");
        assert_eq!(
            registrable_domain("a.b.phishing-site.evil"),
            "phishing-site.evil"
        );
        assert_eq!(registrable_domain("WWW.CNN.COM"), "cnn.com");
        assert!(has_known_suffix("paypal.com"));
        assert!(!has_known_suffix("readme.txt"));
    }

    #[test]
    fn confusables() {
        // Cyrillic а and р in "аpple": mixed scripts.
        assert!(confusable_label("\u{430}pple.com").is_some());
        // All-Cyrillic "аррlе" lookalike in punycode form.
        let puny = ascii_host("\u{430}\u{440}\u{440}\u{4cf}\u{435}.com").into_owned();
        assert!(puny.starts_with("xn--"), "{puny}");
        assert!(confusable_label(&puny).is_some());
        assert!(confusable_label("例え.jp").is_none());
        assert!(confusable_label("example.com").is_none());
    }
}
