//! Small helpers on addresses and domains (all case-insensitive, bounded, panic-free).

/// Longest address we accept (RFC 5321 allows 254 octets in a path).
const MAX_ADDRESS_LEN: usize = 320;

/// Lower-cased `local@domain` without angle brackets, spaces or a trailing dot on the domain; `None` when
/// the text is not an address (no `@`, an empty side, control characters, or absurdly long).
pub fn normalise_address(raw: &str) -> Option<String> {
    let s = raw
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    if s.is_empty() || s.len() > MAX_ADDRESS_LEN {
        return None;
    }
    let (local, domain) = s.rsplit_once('@')?;
    let domain = domain.trim_end_matches('.');
    if local.is_empty()
        || domain.is_empty()
        || !domain.contains('.')
        || s.chars().any(|c| c.is_control() || c.is_whitespace())
        || domain.contains("..")
    {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    out.push_str(&local.to_lowercase());
    out.push('@');
    out.push_str(&domain.to_lowercase());
    Some(out)
}

/// The domain of an address (the text after the last `@`), or the text itself when it has no `@`.
pub fn domain_of(addr: &str) -> &str {
    match addr.rsplit_once('@') {
        Some((_, d)) => d.trim_end_matches('.'),
        None => addr.trim_end_matches('.'),
    }
}

/// Whether `domain` is `parent` or one of its subdomains (ASCII case-insensitive).
pub fn domain_within(domain: &str, parent: &str) -> bool {
    let domain = domain.trim_end_matches('.');
    let parent = parent
        .trim()
        .trim_start_matches("*.")
        .trim_start_matches('@')
        .trim_start_matches('.')
        .trim_end_matches('.');
    if parent.is_empty() || domain.len() < parent.len() {
        return false;
    }
    if domain.eq_ignore_ascii_case(parent) {
        return true;
    }
    let cut = domain.len() - parent.len();
    match (
        domain.get(cut..),
        domain.as_bytes().get(cut.wrapping_sub(1)),
    ) {
        (Some(tail), Some(b'.')) => tail.eq_ignore_ascii_case(parent),
        _ => false,
    }
}

/// The registrable domain (eTLD+1) of a host, in lower-case ASCII (punycode for IDNs); `None` for an
/// IP literal, a bare public suffix or an invalid name.
pub fn registrable_domain(host: &str) -> Option<String> {
    let ascii = to_ascii_host(host)?;
    let d = psl::domain(ascii.as_bytes())?;
    std::str::from_utf8(d.trim().as_bytes())
        .ok()
        .map(str::to_owned)
}

/// A host in lower-case ASCII (IDNA), without a trailing dot.
pub fn to_ascii_host(host: &str) -> Option<String> {
    let host = host.trim().trim_end_matches('.');
    if host.is_empty() || host.len() > 253 || host.starts_with('[') {
        return None;
    }
    if host.is_ascii() {
        return Some(host.to_ascii_lowercase());
    }
    idna::domain_to_ascii(host).ok()
}
