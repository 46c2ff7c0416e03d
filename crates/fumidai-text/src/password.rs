//! Harvests ZIP/document passwords written in a mail body ("パスワード：abc123", "PW: ...",
//! "the password is \"...\""), so encrypted attachments can be opened.
//!
//! Precision first: a candidate must be printable ASCII once full-width forms are folded (real
//! archive passwords are), which drops Japanese phrases such as "パスワードを忘れた方はこちら".

/// Most candidates returned for one text.
pub const MAX_CANDIDATES: usize = 16;
/// Longest candidate kept, in characters.
pub const MAX_LEN: usize = 64;
/// Lines looked at; a body with more is hostile or not a business mail.
const MAX_LINES: usize = 20_000;
/// Bytes of the text looked at.
const MAX_TEXT_BYTES: usize = 1 << 20;
/// Characters of one line looked at.
const MAX_LINE_CHARS: usize = 2_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    Ja,
    En,
}

/// Keywords, folded (full-width to ASCII, lower case), longest first within a family.
const KEYWORDS: &[(&str, Lang)] = &[
    ("解凍用パスワード", Lang::Ja),
    ("解凍パスワード", Lang::Ja),
    ("パスワード", Lang::Ja),
    ("ﾊﾟｽﾜｰﾄﾞ", Lang::Ja),
    ("パスコード", Lang::Ja),
    ("暗号化解除", Lang::Ja),
    ("解凍キー", Lang::Ja),
    ("解凍用", Lang::Ja),
    ("暗証番号", Lang::Ja),
    ("password", Lang::En),
    ("passwort", Lang::En),
    ("passphrase", Lang::En),
    ("passcode", Lang::En),
    ("passwd", Lang::En),
    ("pass", Lang::En),
    ("pwd", Lang::En),
    ("pw", Lang::En),
];

/// Words that follow "password:" or "password is" in ordinary prose and are never the password.
const STOP_WORDS: &[&str] = &[
    "a",
    "an",
    "as",
    "at",
    "be",
    "below",
    "by",
    "changed",
    "different",
    "empty",
    "enclosed",
    "expired",
    "follows",
    "following",
    "for",
    "has",
    "here",
    "in",
    "incorrect",
    "invalid",
    "is",
    "it",
    "not",
    "of",
    "on",
    "please",
    "protected",
    "required",
    "reset",
    "same",
    "see",
    "sent",
    "the",
    "this",
    "to",
    "was",
    "will",
    "with",
    "your",
    "you",
    "none",
    "n/a",
];

const OPEN_BRACKETS: &[(char, char)] = &[
    ('「', '」'),
    ('『', '』'),
    ('"', '"'),
    ('\'', '\''),
    ('“', '”'),
    ('‘', '’'),
    ('(', ')'),
    ('（', '）'),
    ('【', '】'),
    ('[', ']'),
    ('［', '］'),
    ('<', '>'),
    ('〔', '〕'),
    ('《', '》'),
    ('〈', '〉'),
];

/// Full-width ASCII and the ideographic space folded to ASCII, ASCII lower-cased.
fn fold(c: char) -> char {
    let c = match c as u32 {
        0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c),
        0x3000 => ' ',
        _ => c,
    };
    c.to_ascii_lowercase()
}

/// Full-width ASCII folded to ASCII, case kept.
fn fold_keep_case(s: &str) -> String {
    s.chars()
        .map(|c| match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c),
            0x3000 => ' ',
            _ => c,
        })
        .collect()
}

/// One line, as original characters and folded characters at the same indices.
struct Line {
    orig: Vec<char>,
    folded: Vec<char>,
}

impl Line {
    fn new(s: &str) -> Self {
        let s = strip_quote_prefix(s);
        let orig: Vec<char> = s.chars().take(MAX_LINE_CHARS).collect();
        let folded = orig.iter().map(|c| fold(*c)).collect();
        Line { orig, folded }
    }

    fn starts_with(&self, at: usize, word: &str) -> bool {
        (at..)
            .zip(word.chars())
            .all(|(i, w)| self.folded.get(i) == Some(&w))
    }

    fn is_blank(&self) -> bool {
        self.folded.iter().all(|c| c.is_whitespace())
    }
}

/// Drops a reply prefix ("> > ") so quoted passwords are found too.
fn strip_quote_prefix(s: &str) -> &str {
    s.trim_start_matches(['>', ' ', '\t', '|'])
}

/// What follows a keyword.
enum After {
    /// A value starting at this index of the same line.
    At(usize),
    /// The value is on the next non-empty line.
    NextLine,
}

fn word_char(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric())
}

/// Where the value after a keyword ending at `end` starts, if the line says there is one.
fn locate_value(line: &Line, end: usize, lang: Lang) -> Option<After> {
    let f = &line.folded;
    let mut j = end;
    while f.get(j).is_some_and(|c| c.is_whitespace()) {
        j += 1;
    }
    let space_after_keyword = j > end;
    // 【パスワード】abc / [PW] abc: the closing bracket acts as the separator.
    let mut strong = false;
    if f.get(j)
        .is_some_and(|c| matches!(c, '】' | ']' | '」' | '』' | '〕' | '>'))
    {
        j += 1;
        strong = true;
    }
    if f.get(j..).is_none_or(|r| {
        r.iter()
            .all(|c| c.is_whitespace() || matches!(c, ':' | '=' | '-'))
    }) {
        return Some(After::NextLine);
    }
    let limit = j.saturating_add(40).min(f.len());
    let mut k = j;
    while k < limit {
        let c = f.get(k).copied().unwrap_or(' ');
        match c {
            ':' | '=' | '︰' => return Some(After::At(k + 1)),
            '-' | '–' | '—' if f.get(k + 1).is_some_and(|c| c.is_whitespace()) => {
                return Some(After::At(k + 1))
            }
            'は' if lang == Lang::Ja => return Some(After::At(k + 1)),
            '「' | '『' if lang == Lang::Ja => return Some(After::At(k)),
            'i' if (k == j || f.get(k.wrapping_sub(1)).is_some_and(|c| c.is_whitespace()))
                && f.get(k + 1) == Some(&'s')
                && !word_char(f.get(k + 2)) =>
            {
                return Some(After::At(k + 2));
            }
            '。' | '.' | '!' | '?' | '、' | ',' => break,
            _ => {}
        }
        k += 1;
    }
    if strong || (lang == Lang::Ja && space_after_keyword) {
        return Some(After::At(j));
    }
    // "PW 7Hk2q": an English keyword, a space and one token with a digit in it.
    if lang == Lang::En && space_after_keyword {
        let tok: Vec<char> = f
            .get(j..)
            .unwrap_or(&[])
            .iter()
            .take_while(|c| !c.is_whitespace())
            .copied()
            .collect();
        if tok.len() >= 3
            && tok.iter().any(|c| c.is_ascii_digit())
            && tok.iter().any(|c| c.is_ascii_alphanumeric())
        {
            return Some(After::At(j));
        }
    }
    None
}

/// The value at `at`: a bracketed string or a token of folded-ASCII characters.
/// Returns (raw value, value with trailing punctuation kept) or None, or NextLine advice.
enum Value {
    Found(String),
    PointsDown,
    Nothing,
}

fn read_value(line: &Line, at: usize, depth: u32) -> Value {
    let f = &line.folded;
    let o = &line.orig;
    let mut i = at;
    while f
        .get(i)
        .is_some_and(|c| c.is_whitespace() || matches!(c, '、' | ',' | ':' | '='))
    {
        i += 1;
    }
    let Some(&first) = f.get(i) else {
        return Value::PointsDown;
    };
    if let Some(&(_, close)) = OPEN_BRACKETS.iter().find(|(open, _)| fold(*open) == first) {
        let start = i + 1;
        let rel = f
            .get(start..)
            .and_then(|r| r.iter().take(MAX_LEN * 2).position(|c| *c == fold(close)));
        if let Some(rel) = rel {
            let inner: String = o.get(start..start + rel).unwrap_or(&[]).iter().collect();
            let inner = inner.trim().to_owned();
            if is_candidate(&fold_keep_case(&inner)) {
                return Value::Found(inner);
            }
            // "パスワード：（半角）abc": a note in brackets, then the value.
            if depth == 0 {
                return read_value(line, start + rel + 1, 1);
            }
            return Value::Nothing;
        }
        i = start;
    }
    let start = i;
    while f
        .get(i)
        .is_some_and(|c| c.is_ascii_graphic() && !matches!(c, '」' | '』' | '）' | '】'))
    {
        i += 1;
    }
    if i == start {
        // Japanese prose: "パスワードは以下の通りです" points to the next line.
        let rest: String = o.get(start..).unwrap_or(&[]).iter().take(20).collect();
        return if ["以下", "下記", "次", "通り"]
            .iter()
            .any(|w| rest.contains(w))
        {
            Value::PointsDown
        } else {
            Value::Nothing
        };
    }
    let tok: String = o.get(start..i).unwrap_or(&[]).iter().collect();
    let lower = tok.to_ascii_lowercase();
    // "the password is as follows:" / "Password: see below".
    if STOP_WORDS.contains(&lower.trim_end_matches([':', '.'])) {
        let rest: String = f.get(start..).unwrap_or(&[]).iter().take(60).collect();
        if rest.contains("follow") || rest.contains("below") || rest.trim_end().ends_with(':') {
            return Value::PointsDown;
        }
    }
    Value::Found(tok)
}

/// A plausible password: 1-64 printable ASCII characters with a letter or digit, no URL, no prose word.
fn is_candidate(s: &str) -> bool {
    let n = s.chars().count();
    // Inner spaces only come from bracketed values ("the password is \"open sesame\"").
    if n == 0
        || n > MAX_LEN
        || s.starts_with(' ')
        || s.ends_with(' ')
        || !s.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        || !s.chars().any(|c| c.is_ascii_alphanumeric())
    {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    if lower.contains("://") || lower.starts_with("www.") || lower.starts_with("mailto:") {
        return false;
    }
    !STOP_WORDS.contains(&lower.as_str())
}

fn push(out: &mut Vec<String>, s: &str) {
    if out.len() < MAX_CANDIDATES && is_candidate(&fold_keep_case(s)) && !out.iter().any(|o| o == s)
    {
        out.push(s.to_owned());
    }
}

/// Adds a found value: as written, then folded to ASCII, each without and then with trailing punctuation.
fn add_value(out: &mut Vec<String>, raw: &str) {
    let mut trimmed = raw.trim_end_matches(['.', ',', ';', '。', '、', '．', '，']);
    // "（パスワード：abc）": an unbalanced closing bracket belongs to the sentence.
    for (open, close) in [('(', ')'), ('（', '）'), ('[', ']')] {
        if trimmed.ends_with(close) && !trimmed.contains(open) {
            trimmed = trimmed
                .get(..trimmed.len() - close.len_utf8())
                .unwrap_or(trimmed);
        }
    }
    let folded_trimmed = fold_keep_case(trimmed);
    let folded_raw = fold_keep_case(raw);
    // The raw form only when it is itself ASCII or differs only by full-width forms.
    if folded_trimmed
        .chars()
        .all(|c| c.is_ascii_graphic() || c == ' ')
    {
        push(out, trimmed);
        if folded_trimmed != trimmed {
            push(out, &folded_trimmed);
        }
    }
    if raw != trimmed && folded_raw.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        push(out, &folded_raw);
    }
}

/// Candidate passwords written in `text`, in order of appearance, deduplicated, at most [`MAX_CANDIDATES`].
pub fn harvest_passwords(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    // Passwords sit near the top of a mail; a hostile megabyte body is read on its prefix.
    let mut cut = text.len().min(MAX_TEXT_BYTES);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let lines: Vec<&str> = text
        .get(..cut)
        .unwrap_or("")
        .lines()
        .take(MAX_LINES)
        .collect();
    for (n, raw_line) in lines.iter().enumerate() {
        if out.len() >= MAX_CANDIDATES {
            break;
        }
        if !may_hold_keyword(raw_line) {
            continue;
        }
        let line = Line::new(raw_line);
        let mut i = 0;
        while i < line.folded.len() {
            // Every keyword starts with one of these: most characters are rejected here.
            if !line
                .folded
                .get(i)
                .is_some_and(|c| matches!(c, 'p' | 'パ' | 'ﾊ' | '解' | '暗'))
            {
                i += 1;
                continue;
            }
            let hit = KEYWORDS.iter().find(|(kw, lang)| {
                line.starts_with(i, kw)
                    && (*lang == Lang::Ja
                        || (!word_char(line.folded.get(i.wrapping_sub(1)))
                            && !line
                                .folded
                                .get(i + kw.chars().count())
                                .is_some_and(|c| c.is_ascii_alphabetic())))
            });
            let Some(&(kw, lang)) = hit else {
                i += 1;
                continue;
            };
            let end = i + kw.chars().count();
            match locate_value(&line, end, lang) {
                Some(After::At(at)) => match read_value(&line, at, 0) {
                    Value::Found(v) => add_value(&mut out, &v),
                    Value::PointsDown => next_line_value(&lines, n, &mut out),
                    Value::Nothing => {}
                },
                Some(After::NextLine) => next_line_value(&lines, n, &mut out),
                None => {}
            }
            i = end;
        }
    }
    out
}

/// The value on the first non-empty line after line `n`, if that line is just the value
/// (possibly followed by Japanese words such as "です").
fn next_line_value(lines: &[&str], n: usize, out: &mut Vec<String>) {
    let Some(next) = lines
        .iter()
        .skip(n + 1)
        .take(3)
        .map(|l| Line::new(l))
        .find(|l| !l.is_blank())
    else {
        return;
    };
    if let Value::Found(v) = read_value(&next, 0, 0) {
        // A sentence ("Please ask me for it") is not a password: after the value, no ASCII words may follow.
        let line: String = next.folded.iter().collect();
        let folded_value = fold_keep_case(&v).to_ascii_lowercase();
        let after = line
            .find(&folded_value)
            .and_then(|p| line.get(p + folded_value.len()..))
            .unwrap_or("");
        if !after.chars().any(|c| c.is_ascii_alphabetic()) {
            add_value(out, &v);
        }
    }
}

/// Japanese keyword stems and full-width 'p', as UTF-8, for the line pre-check.
static JA_STEMS: std::sync::LazyLock<Vec<memchr::memmem::Finder<'static>>> =
    std::sync::LazyLock::new(|| {
        ["パス", "ﾊﾟｽ", "解凍", "暗号化解除", "暗証", "ｐ", "Ｐ"]
            .iter()
            .map(|s| memchr::memmem::Finder::new(s.as_bytes()))
            .collect()
    });

/// Cheap pre-check: the line may hold a keyword ("pa"/"pw" in any case, or a Japanese stem).
fn may_hold_keyword(line: &str) -> bool {
    let b = line.as_bytes();
    let ascii = memchr::memchr2_iter(b'p', b'P', b).any(|i| {
        b.get(i + 1)
            .is_some_and(|n| matches!(n, b'a' | b'A' | b'w' | b'W'))
    });
    ascii || (!line.is_ascii() && JA_STEMS.iter().any(|f| f.find(b).is_some()))
}

#[cfg(test)]
mod tests {
    use super::harvest_passwords as h;

    fn first(text: &str) -> Option<String> {
        h(text).into_iter().next()
    }

    #[test]
    fn japanese_forms() {
        assert_eq!(
            first("添付ファイルのパスワード：abc123"),
            Some("abc123".into())
        );
        assert_eq!(first("パスワード: abc"), Some("abc".into()));
        assert_eq!(first("パスワードは「Xy12」です。"), Some("Xy12".into()));
        assert_eq!(first("パスワードはXy12です"), Some("Xy12".into()));
        assert_eq!(
            first("パスワードは、 Xy12 となります。"),
            Some("Xy12".into())
        );
        assert_eq!(first("解凍パスワード：『Qw9!x』"), Some("Qw9!x".into()));
        assert_eq!(first("解凍用：zz77"), Some("zz77".into()));
        assert_eq!(first("暗号化解除キー＝KEY-2022"), Some("KEY-2022".into()));
        assert_eq!(first("【パスワード】Ab12cd"), Some("Ab12cd".into()));
        assert_eq!(first("■パスワード　ab12cd"), Some("ab12cd".into()));
        assert_eq!(first("ﾊﾟｽﾜｰﾄﾞ：hw12"), Some("hw12".into()));
        assert_eq!(first("パスワード：（半角）abc999"), Some("abc999".into()));
        assert_eq!(first("（パスワード：abc999）"), Some("abc999".into()));
        assert_eq!(
            first("パスワード：abc123。よろしくお願いします。"),
            Some("abc123".into())
        );
    }

    #[test]
    fn full_width_is_folded_as_an_extra_candidate() {
        assert_eq!(
            h("パスワード：ｐａｓｓ１２３"),
            vec!["ｐａｓｓ１２３".to_owned(), "pass123".to_owned()]
        );
        assert_eq!(
            h("ＰＷ：Ａｂ１"),
            vec!["Ａｂ１".to_owned(), "Ab1".to_owned()]
        );
    }

    #[test]
    fn next_line_values() {
        assert_eq!(
            first("パスワードは以下の通りです。\n\n  Kp3xQ9\n"),
            Some("Kp3xQ9".into())
        );
        assert_eq!(
            first("パスワード：\r\n「Kp3xQ9」\r\n"),
            Some("Kp3xQ9".into())
        );
        assert_eq!(
            first("The password is as follows:\nKp3xQ9"),
            Some("Kp3xQ9".into())
        );
        assert_eq!(first("Password:\n7a7a7a です"), Some("7a7a7a".into()));
        assert_eq!(first("Password:\nPlease ask me for it by phone."), None);
    }

    #[test]
    fn english_forms() {
        assert_eq!(first("Archive password: 4471"), Some("4471".into()));
        assert_eq!(
            first("the requested file is attached. Password: ord2022"),
            Some("ord2022".into())
        );
        assert_eq!(first("PW: s3cret"), Some("s3cret".into()));
        assert_eq!(first("PASS: qwe"), Some("qwe".into()));
        assert_eq!(first("pass：qwe"), Some("qwe".into()));
        assert_eq!(first("Password is Hq77"), Some("Hq77".into()));
        assert_eq!(first("The password is \"Hq 77\"."), Some("Hq 77".into()));
        assert_eq!(
            first("The password for the zip file is 8812."),
            Some("8812".into())
        );
        assert_eq!(first("> Password: quoted1"), Some("quoted1".into()));
        assert_eq!(first("Password - abc1"), Some("abc1".into()));
        assert_eq!(first("use PW 7Hk2q to open"), Some("7Hk2q".into()));
        // Trailing period dropped first, kept as a second candidate.
        assert_eq!(
            h("Password: ord2022."),
            vec!["ord2022".to_owned(), "ord2022.".to_owned()]
        );
    }

    #[test]
    fn prose_gives_nothing() {
        for text in [
            "パスワードを忘れた方はこちら",
            "パスワードは別途お送りします。",
            "パスワードについてはお問い合わせください",
            "Your password has been changed.",
            "Password reset: https://example.com/reset",
            "The password is required to open the file",
            "Please pass the document to your manager.",
            "I renewed my passport yesterday: no problems",
            "compass: north",
            "Regards,\nTaro",
        ] {
            assert!(h(text).is_empty(), "{text:?} gave {:?}", h(text));
        }
    }

    #[test]
    fn dedup_order_and_bounds() {
        let text = "Password: aa1\nPW: bb2\npassword: aa1\n".repeat(3);
        assert_eq!(h(&text), vec!["aa1".to_owned(), "bb2".to_owned()]);
        let many: String = (0..100).map(|i| format!("PW: p{i}\n")).collect();
        assert_eq!(h(&many).len(), super::MAX_CANDIDATES);
        let long = format!("Password: {}", "x".repeat(65));
        assert!(h(&long).is_empty());
        let _ = h(&"パスワード：".repeat(10_000));
        let _ = h("パスワード");
        let _ = h("PW");
    }

    #[test]
    fn generated_emotet_style_mails() {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/corpus/email/generated/"
        );
        for (file, want) in [
            ("emotet_style_pwzip_eicar.eml", "4471"),
            ("emotet_style_pwzip_xlm_macro.eml", "ord2022"),
        ] {
            let raw = std::fs::read(format!("{dir}{file}")).unwrap_or_default();
            let text = String::from_utf8_lossy(&raw);
            // The text part is 7bit: the raw file is its decoded text.
            let got = h(&text);
            assert_eq!(
                got.first().map(String::as_str),
                Some(want),
                "{file}: {got:?}"
            );
        }
    }
}
