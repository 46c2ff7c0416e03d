//! Address and domain normalisation shared by both backends, so that the same input always lands on the same row.

/// Longest address accepted (RFC 5321 path limit is 256 octets; anything longer is not an address).
const MAX_ADDRESS_LEN: usize = 320;

/// Lower-cases an address and converts its domain to ASCII (IDNA/punycode). Surrounding whitespace and angle
/// brackets are removed. Returns `None` for something that is not `local@domain`.
///
/// The local part is lower-cased too: strictly it is case-sensitive, but no mail system in practice treats
/// `Taro@` and `taro@` as different people, and a history split by case would miss real correspondents.
pub fn normalize_address(address: &str) -> Option<String> {
    let address = address
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim();
    if address.is_empty() || address.len() > MAX_ADDRESS_LEN {
        return None;
    }
    let (local, domain) = address.rsplit_once('@')?;
    if local.is_empty() || local.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    let domain = normalize_domain(domain)?;
    Some(format!("{}@{}", local.to_lowercase(), domain))
}

/// Lower-cases a domain and converts it to ASCII (IDNA); a trailing dot is dropped. `None` when it is not a
/// usable domain name.
pub fn normalize_domain(domain: &str) -> Option<String> {
    let domain = domain.trim().trim_end_matches('.');
    if domain.is_empty() || domain.len() > MAX_ADDRESS_LEN {
        return None;
    }
    let ascii = idna::domain_to_ascii(domain).ok()?;
    if ascii.is_empty() || ascii.starts_with('.') || ascii.contains("..") {
        return None;
    }
    Some(ascii)
}

/// The registrable domain (public suffix + one label, e.g. `example.co.jp` for `mail.example.co.jp`) of an
/// already normalised domain. A name that is itself a public suffix, or that the list cannot split, is returned
/// whole: better a precise key than none.
pub fn registrable_domain(domain: &str) -> String {
    psl::domain_str(domain).unwrap_or(domain).to_string()
}

/// The registrable domain of a domain as written (normalised first); `None` when it is not a usable name.
pub fn registrable_domain_of(domain: &str) -> Option<String> {
    normalize_domain(domain).map(|d| registrable_domain(&d))
}

/// The registrable domain of an address as written (`<taro@mail.example.co.jp>` → `example.co.jp`): the
/// organisation it belongs to. `None` without an `@` or a usable domain.
pub fn registrable_domain_of_address(address: &str) -> Option<String> {
    let (_, domain) = address
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .rsplit_once('@')?;
    registrable_domain_of(domain)
}

/// The domain part of a normalised address (everything after the last `@`).
pub fn address_domain(address: &str) -> &str {
    address.rsplit_once('@').map_or(address, |(_, d)| d)
}

/// Normalises a whitelist pattern: an address (`user@example.jp`) or a domain (`example.jp`).
pub fn normalize_pattern(pattern: &str) -> Option<String> {
    if pattern.contains('@') {
        normalize_address(pattern)
    } else {
        normalize_domain(pattern)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_lowercased_and_idn_encoded() {
        assert_eq!(
            normalize_address(" <Taro@Example.CO.JP> ").as_deref(),
            Some("taro@example.co.jp")
        );
        assert_eq!(
            normalize_address("info@例え.jp").as_deref(),
            Some("info@xn--r8jz45g.jp")
        );
        assert_eq!(
            normalize_address("a@b.example."),
            Some("a@b.example".to_string())
        );
        assert_eq!(normalize_address("no-at-sign"), None);
        assert_eq!(normalize_address("@example.jp"), None);
        assert_eq!(normalize_address("a@"), None);
        assert_eq!(
            normalize_address(&format!("a@{}.jp", "x".repeat(400))),
            None
        );
    }

    #[test]
    fn registrable_domains_follow_the_public_suffix_list() {
        assert_eq!(registrable_domain("mail.example.co.jp"), "example.co.jp");
        assert_eq!(registrable_domain("a.b.example.com"), "example.com");
        assert_eq!(registrable_domain("co.jp"), "co.jp");
        assert_eq!(address_domain("x@mx.example.jp"), "mx.example.jp");
    }

    #[test]
    fn patterns_are_addresses_or_domains() {
        assert_eq!(
            normalize_pattern("Boss@Example.JP").as_deref(),
            Some("boss@example.jp")
        );
        assert_eq!(
            normalize_pattern("Example.JP").as_deref(),
            Some("example.jp")
        );
        assert_eq!(normalize_pattern("  "), None);
    }
}
