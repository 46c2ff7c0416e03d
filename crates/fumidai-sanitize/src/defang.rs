//! Defanging: URLs rewritten so that no mail client or viewer turns them into links
//! (`https://example.com/a` → `hxxps://example[.]com/a`), while a reader can still see where they led.

use fumidai_text::text_urls;

/// Text is handed to the URL finder in pieces of about this many bytes, cut at whitespace (which
/// no URL contains), so the finder's per-call cap on URLs is never reached: a URL is at least six
/// bytes long, so a piece holds well under its 2,000.
const PIECE_BYTES: usize = 8 * 1024;

/// Schemes and their defanged forms (compared without regard to case).
const SCHEMES: &[(&str, &str)] = &[
    ("https", "hxxps"),
    ("http", "hxxp"),
    ("ftps", "fxps"),
    ("ftp", "fxp"),
];

/// Defangs one URL: the scheme becomes `hxxp`/`hxxps` (`fxp` for ftp), every dot of the host is
/// bracketed, and URLs or `www.` hosts nested later in it (`?u=https://...`) are defanged too, since
/// clients link those on their own. Idempotent: a defanged URL comes back unchanged.
pub fn defang_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len() + 16);
    let mut rest = url;
    loop {
        let tail = defang_head(rest, &mut out);
        match nested_link_start(tail) {
            Some(at) => {
                let (before, nested) = tail.split_at(at);
                out.push_str(before);
                rest = nested;
            }
            None => {
                out.push_str(tail);
                return out;
            }
        }
    }
}

/// Writes the defanged scheme, user info and host of `url` to `out`; returns the rest (path, query).
fn defang_head<'u>(url: &'u str, out: &mut String) -> &'u str {
    let rest = match url.split_once("://") {
        Some((scheme, rest))
            if !scheme.is_empty()
                && scheme
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) =>
        {
            let defanged = SCHEMES
                .iter()
                .find(|(live, _)| live.eq_ignore_ascii_case(scheme))
                .map_or(scheme, |(_, dead)| dead);
            out.push_str(defanged);
            out.push_str("://");
            rest
        }
        _ => url,
    };
    let host_end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(host_end);
    // The host follows the last '@' (user:password@host); only its dots are bracketed.
    let (userinfo, host) = match authority.rfind('@') {
        Some(at) => authority.split_at(at),
        None => ("", authority),
    };
    out.push_str(userinfo);
    bracket_dots(host, out);
    tail
}

/// `a.b` → `a[.]b`, leaving dots already bracketed alone.
fn bracket_dots(host: &str, out: &mut String) {
    let bytes = host.as_bytes();
    for (i, c) in host.char_indices() {
        let bracketed = i > 0 && bytes.get(i - 1) == Some(&b'[') && bytes.get(i + 1) == Some(&b']');
        if c == '.' && !bracketed {
            out.push_str("[.]");
        } else {
            out.push(c);
        }
    }
}

/// Where the first nested `scheme://` (a scheme we defang) or `www.` starts in the rest of a URL.
fn nested_link_start(text: &str) -> Option<usize> {
    (0..text.len()).find(|&i| link_starts_at(text.as_bytes(), i))
}

/// Whether a `scheme://` (a scheme we defang) or `www.` starts at `i`, whatever the letter case.
fn link_starts_at(bytes: &[u8], i: usize) -> bool {
    let at = bytes.get(i..).unwrap_or_default();
    let starts = |p: &[u8]| at.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
    starts(b"www.")
        || SCHEMES.iter().any(|(live, _)| {
            starts(live.as_bytes()) && at.get(live.len()..live.len() + 3) == Some(b"://")
        })
}

/// Defangs every http(s)/ftp(s) URL and bare `www.` host in `text`. Returns the new text and how many
/// URLs were rewritten (URLs already defanged are not counted).
pub fn defang_text(text: &str) -> (String, usize) {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut count = 0usize;
    let mut rest = text;
    while !rest.is_empty() {
        let piece_end = piece_end(rest);
        let (piece, after) = rest.split_at(piece_end);
        let mut copied = 0usize;
        for url in text_urls(piece) {
            // text_urls returns sub-slices of `piece`; their offset is where they start in it.
            let start = (url.as_ptr() as usize).wrapping_sub(piece.as_ptr() as usize);
            let end = start.wrapping_add(url.len());
            if start < copied || piece.get(start..end) != Some(url) {
                continue;
            }
            let defanged = defang_url(url);
            out.push_str(piece.get(copied..start).unwrap_or_default());
            if defanged != url {
                count += 1;
            }
            out.push_str(&defanged);
            copied = end;
        }
        out.push_str(piece.get(copied..).unwrap_or_default());
        rest = after;
    }
    (out, count)
}

/// The end of the next piece of `text`: just after the last whitespace within [`PIECE_BYTES`]; in a
/// longer run without whitespace (hostile input), just before the last link that starts within it,
/// so no scheme or `www.` is split between pieces (the first piece still ends in the defanged URL
/// whose tail runs on); else at [`PIECE_BYTES`], where no link starts across the cut.
fn piece_end(text: &str) -> usize {
    if text.len() <= PIECE_BYTES {
        return text.len();
    }
    let bytes = text.as_bytes();
    let window = bytes.get(..PIECE_BYTES).unwrap_or_default();
    if let Some(ws) = window.iter().rposition(u8::is_ascii_whitespace) {
        return ws + 1;
    }
    if let Some(link) = (1..=PIECE_BYTES).rev().find(|&i| link_starts_at(bytes, i)) {
        return link;
    }
    let mut end = PIECE_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The URL finder sees only defanged links left: no live scheme, no `www.` host, no host dot.
    fn assert_nothing_live(text: &str) {
        for url in text_urls(text) {
            let lower = url.to_ascii_lowercase();
            assert!(
                lower.starts_with("hxxp") || lower.starts_with("fxp"),
                "live link {url}"
            );
            let host = lower
                .split("://")
                .nth(1)
                .unwrap_or("")
                .split('/')
                .next()
                .unwrap_or("");
            assert!(!host.replace("[.]", "").contains('.'), "host dots in {url}");
        }
    }

    #[test]
    fn urls_lose_their_scheme_and_host_dots() {
        assert_eq!(
            defang_url("https://example.com/path"),
            "hxxps://example[.]com/path"
        );
        assert_eq!(
            defang_url("HTTP://Sub.Example.co.jp:8080/a.html?q=1"),
            "hxxp://Sub[.]Example[.]co[.]jp:8080/a.html?q=1"
        );
        assert_eq!(
            defang_url("ftp://files.example.org/x.zip"),
            "fxp://files[.]example[.]org/x.zip"
        );
        assert_eq!(defang_url("www.example.com/a"), "www[.]example[.]com/a");
        assert_eq!(
            defang_url("https://user.name@evil.example/"),
            "hxxps://user.name@evil[.]example/"
        );
    }

    #[test]
    fn nested_links_are_defanged_too() {
        assert_eq!(
            defang_url("https://t.example/r?u=https://evil.example/x"),
            "hxxps://t[.]example/r?u=hxxps://evil[.]example/x"
        );
        assert_eq!(
            defang_url("https://t.example/r?u=www.evil.example"),
            "hxxps://t[.]example/r?u=www[.]evil[.]example"
        );
    }

    #[test]
    fn defanging_is_idempotent() {
        for url in [
            "https://example.com/path",
            "www.example.com",
            "https://t.example/r?u=https://evil.example/x",
        ] {
            let once = defang_url(url);
            assert_eq!(defang_url(&once), once);
        }
    }

    #[test]
    fn japanese_text_around_urls_is_kept() {
        let text = "詳細はhttps://example.jp/infoをご確認ください。または（www.example.co.jp）へ。";
        let (out, n) = defang_text(text);
        assert_eq!(
            out,
            "詳細はhxxps://example[.]jp/infoをご確認ください。または（www[.]example[.]co[.]jp）へ。"
        );
        assert_eq!(n, 2);
        assert_nothing_live(&out);
        assert_eq!(defang_text(&out), (out.clone(), 0));
    }

    #[test]
    fn full_width_punctuation_ends_a_url() {
        let (out, n) = defang_text("請求書：http://invoice.example.com/pay、期限は本日です。");
        assert_eq!(
            out,
            "請求書：hxxp://invoice[.]example[.]com/pay、期限は本日です。"
        );
        assert_eq!(n, 1);
    }

    #[test]
    fn text_without_urls_is_unchanged() {
        let text = "バージョン1.2.3をインストールしてください。example.com は対象外です。";
        assert_eq!(defang_text(text), (text.to_owned(), 0));
    }

    #[test]
    fn many_urls_are_all_defanged() {
        // More URLs than the finder returns per call.
        let text = "リンク https://a.example/ ".repeat(5_000);
        let (out, n) = defang_text(&text);
        assert_eq!(n, 5_000);
        assert!(!out.contains("https://"));
        assert!(!out.contains("a.example"));
        assert_nothing_live(&out);
    }

    #[test]
    fn a_long_run_without_spaces_is_bounded_and_defanged() {
        let text = "https://a.example/".repeat(3_000);
        let (out, _) = defang_text(&text);
        assert!(!out.contains("https://"));
        assert_nothing_live(&out);
    }
}
