//! A small, forgiving HTML tokenizer (start tags with attributes, end tags, text, raw script/style
//! content), entity decoding, and HTML-to-text conversion.
//!
//! Hand-written rather than a full HTML5 parser: mail bodies are small, we only need tags, attributes
//! and text, and a linear byte scanner that never fails is both faster and safer on hostile input.

use std::borrow::Cow;

/// One token of an HTML document. Slices borrow the input; attribute values are raw (not decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token<'a> {
    Start(Tag<'a>),
    End(&'a str),
    Text(&'a str),
    /// The content of a `<script>`, `<style>`, `<textarea>` or `<title>` element, with the element name.
    Raw(&'a str, &'a str),
}

/// A start tag: its name as written and its attributes (raw values, entities not yet decoded).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tag<'a> {
    pub name: &'a str,
    pub attrs: Vec<(&'a str, &'a str)>,
}

impl<'a> Tag<'a> {
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }

    /// The raw value of the first attribute with this name.
    pub fn attr(&self, name: &str) -> Option<&'a str> {
        self.attrs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The entity-decoded, trimmed value of the first attribute with this name.
    pub fn attr_decoded(&self, name: &str) -> Option<Cow<'a, str>> {
        self.attr(name).map(|v| match decode_entities(v.trim()) {
            Cow::Borrowed(b) => Cow::Borrowed(b),
            Cow::Owned(o) => Cow::Owned(o),
        })
    }
}

/// Attributes kept per tag; a tag with thousands of attributes is hostile, the rest are skipped.
const MAX_ATTRS: usize = 64;

/// Iterates over the tokens of `html`. Never fails: malformed markup becomes text or is skipped.
pub struct Tokenizer<'a> {
    src: &'a str,
    pos: usize,
    /// Set after a raw-text start tag: the next token is its content up to the matching end tag.
    raw: Option<&'a str>,
}

impl<'a> Tokenizer<'a> {
    pub fn new(src: &'a str) -> Self {
        Tokenizer {
            src,
            pos: 0,
            raw: None,
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    fn slice(&self, from: usize, to: usize) -> &'a str {
        self.src.get(from..to).unwrap_or("")
    }

    /// Position of the next `>` at or after `from` (end of input if none).
    fn find_gt(&self, from: usize) -> usize {
        self.bytes()
            .get(from..)
            .and_then(|b| memchr::memchr(b'>', b))
            .map_or(self.src.len(), |i| from + i)
    }

    fn raw_content(&mut self, name: &'a str) -> Token<'a> {
        let start = self.pos;
        let bytes = self.bytes();
        let mut i = start;
        let end = loop {
            match bytes.get(i..).and_then(|b| memchr::memchr(b'<', b)) {
                None => break self.src.len(),
                Some(off) => {
                    let lt = i + off;
                    let after = lt + 2;
                    let close = bytes.get(lt + 1) == Some(&b'/')
                        && bytes
                            .get(after..after + name.len())
                            .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()));
                    if close {
                        break lt;
                    }
                    i = lt + 1;
                }
            }
        };
        self.pos = end;
        Token::Raw(name, self.slice(start, end))
    }

    fn start_tag(&mut self, lt: usize) -> Token<'a> {
        let bytes = self.bytes();
        let mut i = lt + 1;
        let name_start = i;
        while bytes
            .get(i)
            .is_some_and(|b| !b.is_ascii_whitespace() && *b != b'>' && *b != b'/')
        {
            i += 1;
        }
        let name = self.slice(name_start, i);
        let mut attrs = Vec::new();
        loop {
            while bytes
                .get(i)
                .is_some_and(|b| b.is_ascii_whitespace() || *b == b'/')
            {
                i += 1;
            }
            match bytes.get(i) {
                None => break,
                Some(b'>') => {
                    i += 1;
                    break;
                }
                _ => {}
            }
            let an_start = i;
            while bytes
                .get(i)
                .is_some_and(|b| !b.is_ascii_whitespace() && !matches!(b, b'=' | b'>' | b'/'))
            {
                i += 1;
            }
            // A lone '/' or '=' that starts no name: step over it so the loop always advances.
            if i == an_start {
                i += 1;
                continue;
            }
            let an = self.slice(an_start, i);
            let mut j = i;
            while bytes.get(j).is_some_and(|b| b.is_ascii_whitespace()) {
                j += 1;
            }
            let mut value = "";
            if bytes.get(j) == Some(&b'=') {
                j += 1;
                while bytes.get(j).is_some_and(|b| b.is_ascii_whitespace()) {
                    j += 1;
                }
                match bytes.get(j) {
                    Some(&q) if q == b'"' || q == b'\'' => {
                        let vs = j + 1;
                        let ve = bytes
                            .get(vs..)
                            .and_then(|b| memchr::memchr(q, b))
                            .map_or(self.src.len(), |o| vs + o);
                        value = self.slice(vs, ve);
                        j = ve.saturating_add(1).min(self.src.len());
                    }
                    _ => {
                        let vs = j;
                        while bytes
                            .get(j)
                            .is_some_and(|b| !b.is_ascii_whitespace() && *b != b'>')
                        {
                            j += 1;
                        }
                        value = self.slice(vs, j);
                    }
                }
                i = j;
            }
            if attrs.len() < MAX_ATTRS {
                attrs.push((an, value));
            }
        }
        self.pos = i;
        let raw_kind = ["script", "style", "textarea", "title", "xmp"]
            .into_iter()
            .find(|r| name.eq_ignore_ascii_case(r));
        if let Some(r) = raw_kind {
            self.raw = Some(r);
        }
        Token::Start(Tag { name, attrs })
    }
}

impl<'a> Iterator for Tokenizer<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        if let Some(name) = self.raw.take() {
            return Some(self.raw_content(name));
        }
        let bytes = self.bytes();
        loop {
            let start = self.pos;
            if start >= bytes.len() {
                return None;
            }
            let Some(off) = bytes.get(start..).and_then(|b| memchr::memchr(b'<', b)) else {
                self.pos = bytes.len();
                return Some(Token::Text(self.slice(start, bytes.len())));
            };
            let lt = start + off;
            if lt > start {
                self.pos = lt;
                return Some(Token::Text(self.slice(start, lt)));
            }
            let next = bytes.get(lt + 1).copied();
            match next {
                Some(b'!') if bytes.get(lt..lt + 4) == Some(b"<!--") => {
                    let end = bytes
                        .get(lt + 4..)
                        .and_then(|b| memchr::memmem::find(b, b"-->"))
                        .map_or(bytes.len(), |o| lt + 4 + o + 3);
                    self.pos = end;
                }
                Some(b'!') | Some(b'?') => self.pos = (self.find_gt(lt) + 1).min(bytes.len()),
                Some(b'/') => {
                    let ns = lt + 2;
                    let mut i = ns;
                    while bytes
                        .get(i)
                        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b':')
                    {
                        i += 1;
                    }
                    let name = self.slice(ns, i);
                    self.pos = (self.find_gt(i) + 1).min(bytes.len());
                    return Some(Token::End(name));
                }
                Some(b) if b.is_ascii_alphabetic() => return Some(self.start_tag(lt)),
                _ => {
                    // A '<' that opens no tag is text.
                    self.pos = lt + 1;
                    return Some(Token::Text(self.slice(lt, lt + 1)));
                }
            }
        }
    }
}

/// Decodes character references (`&amp;`, `&#12354;`, `&#x41;` and common named ones).
/// Unknown references are kept as written.
pub fn decode_entities(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or(""));
        let after = rest.get(amp + 1..).unwrap_or("");
        // A reference is at most ~32 characters up to its ';' (which may be missing for numeric ones).
        let window: &str = {
            let end = after.char_indices().nth(32).map_or(after.len(), |(i, _)| i);
            after.get(..end).unwrap_or("")
        };
        match decode_one(window) {
            Some((ch, used)) => {
                out.push(ch);
                rest = after.get(used..).unwrap_or("");
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Decodes one reference at the start of `s` (the text after '&'): the character and bytes used.
fn decode_one(s: &str) -> Option<(char, usize)> {
    let b = s.as_bytes();
    if b.first() == Some(&b'#') {
        let (radix, start) = if matches!(b.get(1), Some(b'x') | Some(b'X')) {
            (16, 2)
        } else {
            (10, 1)
        };
        let mut end = start;
        while b
            .get(end)
            .is_some_and(|c| (radix == 16 && c.is_ascii_hexdigit()) || c.is_ascii_digit())
        {
            end += 1;
        }
        if end == start {
            return None;
        }
        let num =
            u32::from_str_radix(s.get(start..end)?.get(..(end - start).min(8))?, radix).ok()?;
        let ch = char::from_u32(num)
            .filter(|c| *c != '\0')
            .unwrap_or('\u{FFFD}');
        let used = if b.get(end) == Some(&b';') {
            end + 1
        } else {
            end
        };
        return Some((ch, used));
    }
    let mut end = 0;
    while b.get(end).is_some_and(|c| c.is_ascii_alphanumeric()) {
        end += 1;
    }
    let name = s.get(..end)?;
    let ch = match name {
        "amp" | "AMP" => '&',
        "lt" | "LT" => '<',
        "gt" | "GT" => '>',
        "quot" | "QUOT" => '"',
        "apos" => '\'',
        "nbsp" => '\u{A0}',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "yen" => '¥',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "laquo" => '«',
        "raquo" => '»',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "bull" => '•',
        "middot" => '·',
        "shy" => '\u{AD}',
        "zwnj" => '\u{200C}',
        "zwj" => '\u{200D}',
        "sol" => '/',
        "colon" => ':',
        "period" => '.',
        "commat" => '@',
        "Tab" => '\t',
        "NewLine" => '\n',
        _ => return None,
    };
    let used = if b.get(end) == Some(&b';') {
        end + 1
    } else {
        end
    };
    Some((ch, used))
}

/// Elements that start and end a line of text.
fn is_block(name: &str) -> bool {
    const BLOCKS: &[&str] = &[
        "p",
        "div",
        "br",
        "li",
        "tr",
        "table",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "pre",
        "blockquote",
        "section",
        "article",
        "header",
        "footer",
        "nav",
        "aside",
        "form",
        "address",
        "center",
        "fieldset",
        "figure",
        "figcaption",
        "main",
        "tbody",
        "thead",
        "tfoot",
        "caption",
    ];
    BLOCKS.iter().any(|b| name.eq_ignore_ascii_case(b))
}

/// Writes text into lines, prefixing each new line with "> " per blockquote level.
struct TextWriter {
    out: String,
    at_line_start: bool,
    pending_space: bool,
    quote: usize,
    blank_lines: usize,
}

impl TextWriter {
    fn newline(&mut self) {
        if self.at_line_start {
            if self.blank_lines == 0 && !self.out.is_empty() {
                self.out.push('\n');
                self.blank_lines += 1;
            }
        } else {
            self.out.push('\n');
            self.at_line_start = true;
        }
        self.pending_space = false;
    }

    fn block(&mut self) {
        if !self.at_line_start {
            self.out.push('\n');
            self.at_line_start = true;
        }
        self.pending_space = false;
    }

    fn text(&mut self, s: &str, pre: bool) {
        if pre {
            for ch in s.chars() {
                if ch == '\n' {
                    self.newline();
                } else {
                    let mut buf = [0u8; 4];
                    self.word(ch.encode_utf8(&mut buf));
                }
            }
            return;
        }
        // Collapsed whitespace: words are copied whole, runs of spaces become one.
        let is_ws = |c: char| c.is_whitespace() && c != '\u{3000}';
        let mut rest = s;
        while !rest.is_empty() {
            let trimmed = rest.trim_start_matches(is_ws);
            if trimmed.len() < rest.len() {
                if !self.at_line_start {
                    self.pending_space = true;
                }
                rest = trimmed;
                continue;
            }
            let end = rest.find(is_ws).unwrap_or(rest.len());
            self.word(rest.get(..end).unwrap_or(""));
            rest = rest.get(end..).unwrap_or("");
        }
    }

    /// Writes a run of non-space characters (soft hyphens and zero-width characters dropped).
    fn word(&mut self, w: &str) {
        let invisible = |c: char| matches!(c, '\u{AD}' | '\u{200B}' | '\u{FEFF}');
        if w.is_empty() || w.chars().all(invisible) {
            return;
        }
        if self.at_line_start {
            for _ in 0..self.quote.min(16) {
                self.out.push_str("> ");
            }
            self.at_line_start = false;
            self.blank_lines = 0;
        } else if self.pending_space {
            self.out.push(' ');
        }
        self.pending_space = false;
        if w.contains(invisible) || w.contains('\u{A0}') {
            self.out
                .extend(w.chars().filter(|c| !invisible(*c)).map(|c| {
                    if c == '\u{A0}' {
                        ' '
                    } else {
                        c
                    }
                }));
        } else {
            self.out.push_str(w);
        }
    }
}

/// Plain text of an HTML body: tags dropped, entities decoded, block elements as line breaks,
/// `<blockquote>` lines prefixed with "> ", script and style dropped.
pub fn html_to_text(html: &str) -> String {
    let mut w = TextWriter {
        out: String::with_capacity(html.len() / 2),
        at_line_start: true,
        pending_space: false,
        quote: 0,
        blank_lines: 0,
    };
    let mut pre = 0usize;
    for tok in Tokenizer::new(html) {
        match tok {
            Token::Start(tag) => {
                if tag.is("br") {
                    w.newline();
                } else if is_block(tag.name) {
                    w.block();
                    if tag.is("blockquote") {
                        w.quote = w.quote.saturating_add(1);
                    } else if tag.is("pre") {
                        pre = pre.saturating_add(1);
                    }
                } else if tag.is("td") || tag.is("th") {
                    w.pending_space = !w.at_line_start;
                }
            }
            Token::End(name) => {
                if is_block(name) {
                    w.block();
                    if name.eq_ignore_ascii_case("blockquote") {
                        w.quote = w.quote.saturating_sub(1);
                    } else if name.eq_ignore_ascii_case("pre") {
                        pre = pre.saturating_sub(1);
                    }
                }
            }
            Token::Text(t) => w.text(&decode_entities(t), pre > 0),
            Token::Raw(name, content) => {
                if name == "textarea" || name == "xmp" {
                    w.text(&decode_entities(content), pre > 0);
                }
            }
        }
    }
    while w.out.ends_with('\n') {
        w.out.pop();
    }
    w.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_tags_attributes_and_raw_text() {
        let toks: Vec<_> = Tokenizer::new(
            "<a HREF='x?a=1&amp;b=2' id=z>t</a><script>if (a<b) {}</script><!-- c --><p/>",
        )
        .collect();
        let Some(Token::Start(a)) = toks.first() else {
            panic!("{toks:?}")
        };
        assert_eq!(a.attr("href"), Some("x?a=1&amp;b=2"));
        assert_eq!(a.attr_decoded("href").as_deref(), Some("x?a=1&b=2"));
        assert_eq!(a.attr("id"), Some("z"));
        assert!(toks.contains(&Token::Raw("script", "if (a<b) {}")));
        assert!(toks.contains(&Token::End("script")));
        assert_eq!(toks.len(), 7, "{toks:?}");
    }

    #[test]
    fn hostile_markup_never_panics_and_terminates() {
        for s in [
            "<",
            "<a",
            "<a href=",
            "<a href='",
            "</",
            "<!--",
            "<script>",
            "&#xFFFFFFFFFF;",
            "&#0;",
            "<a =>",
            "<<<>>>",
            "<a/ / />",
        ] {
            let n = Tokenizer::new(s).count();
            assert!(n <= s.len() + 1);
            let _ = html_to_text(s);
            let _ = decode_entities(s);
        }
    }

    #[test]
    fn entities_decode() {
        assert_eq!(
            decode_entities("a&lt;b&#x3042;&#12354;&nbsp;&bogus;&"),
            "a<bああ\u{A0}&bogus;&"
        );
    }

    #[test]
    fn text_has_lines_and_quotes() {
        let t = html_to_text(
            "<p>Hello&nbsp;there</p><div>line two<br>three</div><blockquote><p>quoted</p>more</blockquote><script>x=1</script>end",
        );
        assert_eq!(t, "Hello there\nline two\nthree\n> quoted\n> more\nend");
    }
}
