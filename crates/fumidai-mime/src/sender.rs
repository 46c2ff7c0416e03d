//! Sender-side header checks: display-name spoofing, Reply-To diversion, envelope vs header From.
//! Domains are compared as registrable domains (public suffix list), lower case, IDN converted to ASCII.

use crate::{findings, Message, SenderContext};
use fumidai_core::Scan;

/// The registrable domain of an address or domain (`a@mail.example.co.jp` -> `example.co.jp`), lower case,
/// IDN in ASCII (punycode) form. `None` when there is no usable domain.
pub fn registrable_domain(addr_or_domain: &str) -> Option<String> {
    let d = addr_or_domain.rsplit('@').next()?;
    let d = d
        .trim()
        .trim_matches(|c| c == '<' || c == '>' || c == '[' || c == ']')
        .trim_end_matches('.');
    if d.is_empty() || !d.contains('.') {
        return None;
    }
    let ascii = match idna::domain_to_ascii(d) {
        Ok(a) if !a.is_empty() => a,
        _ => d.to_ascii_lowercase(),
    };
    let reg = psl::domain_str(&ascii).map(str::to_owned).unwrap_or(ascii);
    Some(reg)
}

/// Email addresses written in free text (display names, quoted threads). ASCII domains only.
pub fn addresses_in(text: &str) -> Vec<String> {
    let text = text.replace('＠', "@");
    let b = text.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0usize;
    while let Some(rel) = memchr::memchr(b'@', b.get(i..).unwrap_or_default()) {
        let at = i + rel;
        i = at + 1;
        let mut s = at;
        while s > 0
            && b.get(s - 1)
                .is_some_and(|c| c.is_ascii_alphanumeric() || b"._%+-'".contains(c))
        {
            s -= 1;
        }
        let mut e = at + 1;
        while b
            .get(e)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'-')
        {
            e += 1;
        }
        let local = text.get(s..at).unwrap_or_default().trim_matches('.');
        let domain = text
            .get(at + 1..e)
            .unwrap_or_default()
            .trim_end_matches(['.', '-']);
        if !local.is_empty() && domain.contains('.') && out.len() < 1000 {
            let a = format!("{local}@{}", domain.to_ascii_lowercase());
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    out
}

fn in_domains(dom: &str, list: &[String]) -> bool {
    list.iter()
        .filter_map(|d| registrable_domain(d))
        .any(|d| d == dom)
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    let needle = needle.trim();
    !needle.is_empty() && hay.to_lowercase().contains(&needle.to_lowercase())
}

pub fn check(scan: &mut Scan<'_>, msg: &Message<'_>, ctx: &SenderContext) {
    let Some(from) = &msg.from else { return };
    let Some(from_dom) = registrable_domain(&from.address) else {
        return;
    };
    if let Some(name) = from.name.as_deref() {
        let shown: Vec<String> = addresses_in(name)
            .into_iter()
            .filter(|a| registrable_domain(a).is_some_and(|d| d != from_dom))
            .collect();
        if let Some(a) = shown.first() {
            scan.add(
                &findings::DISPLAY_NAME_HAS_ADDRESS,
                "headers",
                format!("display name shows {a}, sent from {}", from.address),
            );
        }
        if !in_domains(&from_dom, &ctx.own_domains) {
            if let Some(own) = ctx
                .own_names
                .iter()
                .find(|n| n.trim().chars().count() >= 2 && contains_ci(name, n))
            {
                scan.add(
                    &findings::DISPLAY_NAME_OWN_ORG,
                    "headers",
                    format!(
                        "display name {name:?} carries {own:?}, sent from {}",
                        from.address
                    ),
                );
            }
        }
        for p in &ctx.partners {
            if p.name.trim().chars().count() >= 2
                && contains_ci(name, &p.name)
                && !in_domains(&from_dom, &p.domains)
            {
                scan.add(
                    &findings::DISPLAY_NAME_PARTNER,
                    "headers",
                    format!("display name {name:?} carries partner {:?}, sent from {} (partner domains: {})", p.name, from.address, p.domains.join(", ")),
                );
                break;
            }
        }
    }
    if let Some(rt) = msg
        .reply_to
        .iter()
        .find(|r| registrable_domain(&r.address).is_some_and(|d| d != from_dom))
    {
        scan.add(
            &findings::REPLY_TO_DIFFERENT_DOMAIN,
            "headers",
            format!("Reply-To {} differs from From {}", rt.address, from.address),
        );
    }
    let env_dom = ctx.envelope_from.as_deref().and_then(registrable_domain);
    if let Some(env) = &env_dom {
        if *env != from_dom {
            scan.add(
                &findings::ENVELOPE_FROM_MISMATCH,
                "headers",
                format!("envelope domain {env}, header From domain {from_dom}"),
            );
        }
        if in_domains(&from_dom, &ctx.own_domains) && !in_domains(env, &ctx.own_domains) {
            scan.add(
                &findings::FROM_OWN_DOMAIN,
                "headers",
                format!(
                    "From {} is ours, envelope domain {env} is not",
                    from.address
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrable() {
        assert_eq!(
            registrable_domain("A@Mail.Example.CO.JP").as_deref(),
            Some("example.co.jp")
        );
        assert_eq!(
            registrable_domain("x@例え.jp").as_deref(),
            Some("xn--r8jz45g.jp")
        );
        assert_eq!(registrable_domain("nodomain"), None);
    }

    #[test]
    fn addresses_in_text() {
        assert_eq!(
            addresses_in("\"boss@corp.example\" (via x)"),
            vec!["boss@corp.example".to_owned()]
        );
        assert_eq!(addresses_in("山田＠example.jp"), Vec::<String>::new());
        assert_eq!(
            addresses_in("yamada＠example.jp"),
            vec!["yamada@example.jp".to_owned()]
        );
    }
}
