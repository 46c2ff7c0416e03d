//! The console's words in Japanese and English: one table, each entry carrying both, so neither language can
//! lack a word the other has. Templates read them as `t.<key>`; a key missing from the table is an error when
//! the page renders (the templates run with strict undefined values), which the tests of every page catch.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::HeaderMap;

/// The console's languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

/// The cookie that keeps the language chosen with the header's links.
pub(crate) const LANG_COOKIE: &str = "fumidai_lang";

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language cookie, else the browser's first choice of the two, else Japanese (the users are in Japan).
    pub fn of(headers: &HeaderMap) -> Lang {
        if let Some(lang) = super::session::cookie(headers, LANG_COOKIE).and_then(Lang::parse) {
            return lang;
        }
        headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split(',')
                    .map(|tag| tag.split(';').next().unwrap_or("").trim())
                    .find_map(|tag| Lang::parse(tag.split('-').next().unwrap_or("")))
            })
            .unwrap_or(Lang::Ja)
    }

    /// Every word in this language, by key.
    pub fn words(self) -> &'static BTreeMap<&'static str, &'static str> {
        static JA: OnceLock<BTreeMap<&str, &str>> = OnceLock::new();
        static EN: OnceLock<BTreeMap<&str, &str>> = OnceLock::new();
        match self {
            Lang::Ja => JA.get_or_init(|| WORDS.iter().map(|&(key, ja, _)| (key, ja)).collect()),
            Lang::En => EN.get_or_init(|| WORDS.iter().map(|&(key, _, en)| (key, en)).collect()),
        }
    }

    /// One word (the key itself when the table lacks it, which the tests rule out).
    pub fn word(self, key: &str) -> &'static str {
        self.words().get(key).copied().unwrap_or("?")
    }
}

/// (key, Japanese, English).
const WORDS: &[(&str, &str, &str)] = &[
    ("nav_dashboard", "ダッシュボード", "Dashboard"),
    ("nav_quarantine", "隔離", "Quarantine"),
    ("nav_cases", "踏み台案件", "Cases"),
    ("nav_history", "やり取り履歴", "Exchange history"),
    ("nav_statistics", "月次統計", "Monthly statistics"),
    ("nav_users", "ユーザー", "Users"),
    ("nav_audit", "監査ログ", "Audit log"),
    ("logout", "ログアウト", "Sign out"),
    ("login", "ログイン", "Sign in"),
    (
        "login_title",
        "fumidai 管理コンソールにログイン",
        "Sign in to the fumidai console",
    ),
    ("username", "ユーザー名", "User name"),
    ("password", "パスワード", "Password"),
    (
        "login_failed",
        "ユーザー名またはパスワードが違います。",
        "Wrong user name or password.",
    ),
    (
        "login_limited",
        "ログインの失敗が続いたため、しばらく受け付けません。後でもう一度お試しください。",
        "Too many failed sign-ins: try again later.",
    ),
    (
        "login_form_stale",
        "ログイン画面の有効期限が切れました。もう一度入力してください。",
        "The sign-in form expired: please enter your details again.",
    ),
    (
        "csrf_failed",
        "フォームの有効期限が切れたか、別のサイトから送信されました。ページを開き直してください。",
        "The form expired or came from another site: reload the page and try again.",
    ),
    (
        "forbidden",
        "この操作の権限がありません。",
        "Your role does not allow this.",
    ),
    ("not_found", "ページが見つかりません。", "No such page."),
    ("role_viewer", "閲覧者", "viewer"),
    ("role_operator", "運用者", "operator"),
    ("role_admin", "管理者", "admin"),
    ("role", "権限", "Role"),
    (
        "traffic_title",
        "判定別のメッセージ数（過去14日、日本時間）",
        "Messages by verdict (last 14 days, JST)",
    ),
    (
        "traffic_note",
        "受信・送信の合計。表は判定と処置ごとの日別件数。",
        "Inbound and outbound together; the table gives each day by verdict and by action.",
    ),
    ("day", "日付", "Day"),
    (
        "top_findings",
        "多かった検知（過去14日）",
        "Top findings (last 14 days)",
    ),
    ("finding", "検知", "Finding"),
    ("findings", "検知", "Findings"),
    ("messages", "件数", "Messages"),
    (
        "held_accounts",
        "送信を保留中のアカウント",
        "Outbound accounts held",
    ),
    ("account", "アカウント", "Account"),
    ("held_at", "保留日時", "Held at"),
    ("reason", "理由", "Reason"),
    ("release_account", "保留を解除", "Release account"),
    ("none", "ありません", "None"),
    ("search", "検索", "Search"),
    (
        "search_hint",
        "件名・差出人・宛先・検知名・ID",
        "Subject, sender, recipient, finding or id",
    ),
    ("showing", "表示件数", "Shown"),
    (
        "more_exist",
        "さらにあります。条件を絞ってください",
        "more exist: narrow the search",
    ),
    ("received", "受信日時", "Received"),
    ("direction", "方向", "Direction"),
    ("direction_inbound", "受信", "inbound"),
    ("direction_outbound", "送信", "outbound"),
    ("from", "差出人", "From"),
    ("mail_from", "エンベロープ差出人", "Envelope sender"),
    ("recipients", "宛先", "Recipients"),
    ("subject", "件名", "Subject"),
    ("verdict", "判定", "Verdict"),
    ("verdict_clean", "問題なし", "clean"),
    ("verdict_suspicious", "不審", "suspicious"),
    ("verdict_malicious", "悪性", "malicious"),
    ("score", "スコア", "Score"),
    ("state", "状態", "State"),
    ("held", "隔離中", "held"),
    ("released", "解放済み", "released"),
    ("action", "処置", "Action"),
    ("action_deliver", "配送", "deliver"),
    ("action_tag", "タグ付け", "tag"),
    ("action_sanitize", "無害化", "sanitise"),
    ("action_quarantine", "隔離", "quarantine"),
    ("action_tempfail", "一時エラー", "tempfail"),
    ("action_reject", "拒否", "reject"),
    ("size", "サイズ", "Size"),
    ("release", "解放して配送", "Release and deliver"),
    ("delete", "削除", "Delete"),
    (
        "confirm_delete",
        "このメッセージを完全に削除しますか？",
        "Delete this message for good?",
    ),
    ("confirm_remove", "削除しますか？", "Remove it?"),
    (
        "download_original",
        "原本をダウンロード (.eml)",
        "Download the original (.eml)",
    ),
    ("part", "箇所", "Where"),
    ("detail", "詳細", "Detail"),
    ("attachments", "添付ファイル", "Attachments"),
    ("headers", "ヘッダー", "Headers"),
    ("body_text", "本文（テキスト）", "Body (text)"),
    (
        "body_note",
        "本文は文字列として表示しています。HTML は表示せず、画像やリンクは読み込みません。",
        "The body is shown as plain text: HTML is never rendered, no image or link is loaded.",
    ),
    (
        "html_source",
        "HTML ソース（表示しません）",
        "HTML source (not rendered)",
    ),
    (
        "cut_note",
        "長いため途中までを表示しています。全体は原本をダウンロードしてください。",
        "Cut short for display: download the original for all of it.",
    ),
    ("all_states", "すべての状態", "Every state"),
    ("case_new", "新規", "new"),
    ("case_notified", "通知済み", "notified"),
    ("case_acknowledged", "先方確認済み", "acknowledged"),
    ("case_resolved", "解決", "resolved"),
    ("kind", "種別", "Kind"),
    ("kind_springboard", "踏み台", "springboard"),
    ("kind_impersonation", "なりすまし", "impersonation"),
    ("organisation", "組織", "Organisation"),
    ("events", "検知数", "Events"),
    ("first_seen", "初回", "First seen"),
    ("last_seen", "最終", "Last seen"),
    ("last_notified", "最終通知", "Last notified"),
    ("not_notified", "未通知", "not yet"),
    ("reopened", "再開", "reopened"),
    ("source_ips", "送信元 IP", "Source IPs"),
    ("source_ip", "送信元 IP", "Source IP"),
    ("sites", "報告拠点", "Reporting sites"),
    ("set_state", "状態を変更", "Set state"),
    (
        "evidence",
        "証拠（直近のサンプル）",
        "Evidence (latest samples)",
    ),
    ("notices", "送った通知", "Notices sent"),
    ("notice_to", "宛先", "To"),
    ("language", "言語", "Language"),
    ("lookup", "照会", "Look up"),
    ("sender", "差出人アドレス", "Sender address"),
    ("local", "社内の宛先", "Local recipient"),
    ("whitelisted", "ホワイトリスト", "Whitelisted"),
    (
        "days_since_last",
        "最後のやり取りからの日数",
        "Days since the last exchange",
    ),
    ("never", "やり取りなし", "never"),
    ("yes", "はい", "yes"),
    ("no", "いいえ", "no"),
    ("address_level", "アドレス単位", "Address"),
    ("domain_level", "組織単位", "Organisation"),
    ("outbound", "送信", "sent"),
    ("inbound", "受信", "received"),
    ("whitelist", "ホワイトリスト", "Whitelist"),
    ("pattern", "パターン", "Pattern"),
    ("comment", "コメント", "Comment"),
    ("added", "追加日時", "Added"),
    ("add", "追加", "Add"),
    ("remove", "削除", "Remove"),
    ("since", "開始月", "From month"),
    ("until", "終了月", "To month"),
    ("show", "表示", "Show"),
    (
        "statistics_note",
        "通知した組織の数（日本時間の月ごと、種別ごと、業種ごと）。",
        "Organisations notified, by month (JST), kind and industry.",
    ),
    ("by_month", "月別", "By month"),
    ("by_industry", "業種別", "By industry"),
    ("month", "月", "Month"),
    ("total", "合計", "Total"),
    ("industry", "業種", "Industry"),
    ("per_10000", "1万社あたり", "Per 10,000 enterprises"),
    ("created", "作成日時", "Created"),
    ("last_login", "最終ログイン", "Last sign-in"),
    ("set_role", "変更", "Change"),
    ("add_user", "ユーザーを追加", "Add a user"),
    ("set_password", "パスワードを設定", "Set a password"),
    ("when", "日時", "When"),
    ("actor", "実行者", "Who"),
    ("target", "対象", "Target"),
    (
        "flash_released",
        "解放しました。元の宛先に配送します。",
        "Released: it is on its way to its recipients.",
    ),
    ("flash_deleted", "削除しました。", "Deleted."),
    (
        "flash_whitelist_added",
        "ホワイトリストに追加しました。",
        "Added to the whitelist.",
    ),
    (
        "flash_whitelist_removed",
        "ホワイトリストから削除しました。",
        "Removed from the whitelist.",
    ),
    ("flash_state_set", "状態を変更しました。", "State changed."),
    (
        "flash_account_released",
        "アカウントの保留を解除しました。",
        "Account released.",
    ),
    (
        "flash_user_added",
        "ユーザーを追加しました。",
        "User added.",
    ),
    ("flash_role_set", "権限を変更しました。", "Role changed."),
    (
        "flash_password_set",
        "パスワードを設定しました。そのユーザーのセッションは終了しました。",
        "Password set; that user's sessions have ended.",
    ),
    (
        "flash_user_removed",
        "ユーザーを削除しました。",
        "User removed.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_every_word_is_there_in_both_languages() {
        let keys: std::collections::BTreeSet<_> = WORDS.iter().map(|w| w.0).collect();
        assert_eq!(keys.len(), WORDS.len(), "a key is listed twice");
        for (key, ja, en) in WORDS {
            assert!(!ja.trim().is_empty() && !en.trim().is_empty(), "{key}");
        }
        assert_eq!(Lang::Ja.word("nav_quarantine"), "隔離");
        assert_eq!(Lang::En.word("nav_quarantine"), "Quarantine");
    }

    #[test]
    fn the_language_comes_from_the_cookie_then_the_browser_then_is_japanese() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::of(&headers), Lang::Ja);
        headers.insert(
            "accept-language",
            "en-US,en;q=0.9,ja;q=0.8".parse().unwrap(),
        );
        assert_eq!(Lang::of(&headers), Lang::En);
        headers.insert("cookie", "a=b; fumidai_lang=ja".parse().unwrap());
        assert_eq!(Lang::of(&headers), Lang::Ja);
        headers.insert("cookie", "fumidai_lang=fr".parse().unwrap());
        assert_eq!(Lang::of(&headers), Lang::En);
    }
}
