//! The divisions (大分類) of the Japan Standard Industrial Classification (日本標準産業分類, revision 14), by
//! which the statistics count organisations: the operator's directory names each organisation's division letter.

/// One JSIC division.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Division {
    /// `A` to `T`.
    pub letter: char,
    pub ja: &'static str,
    pub en: &'static str,
}

#[rustfmt::skip]
pub const DIVISIONS: [Division; 20] = [
    Division { letter: 'A', ja: "農業，林業", en: "Agriculture and forestry" },
    Division { letter: 'B', ja: "漁業", en: "Fisheries" },
    Division { letter: 'C', ja: "鉱業，採石業，砂利採取業", en: "Mining and quarrying of stone and gravel" },
    Division { letter: 'D', ja: "建設業", en: "Construction" },
    Division { letter: 'E', ja: "製造業", en: "Manufacturing" },
    Division { letter: 'F', ja: "電気・ガス・熱供給・水道業", en: "Electricity, gas, heat supply and water" },
    Division { letter: 'G', ja: "情報通信業", en: "Information and communications" },
    Division { letter: 'H', ja: "運輸業，郵便業", en: "Transport and postal activities" },
    Division { letter: 'I', ja: "卸売業，小売業", en: "Wholesale and retail trade" },
    Division { letter: 'J', ja: "金融業，保険業", en: "Finance and insurance" },
    Division { letter: 'K', ja: "不動産業，物品賃貸業", en: "Real estate and goods rental and leasing" },
    Division { letter: 'L', ja: "学術研究，専門・技術サービス業", en: "Scientific research, professional and technical services" },
    Division { letter: 'M', ja: "宿泊業，飲食サービス業", en: "Accommodations, eating and drinking services" },
    Division { letter: 'N', ja: "生活関連サービス業，娯楽業", en: "Living-related and personal services and amusement services" },
    Division { letter: 'O', ja: "教育，学習支援業", en: "Education, learning support" },
    Division { letter: 'P', ja: "医療，福祉", en: "Medical, health care and welfare" },
    Division { letter: 'Q', ja: "複合サービス事業", en: "Compound services" },
    Division { letter: 'R', ja: "サービス業（他に分類されないもの）", en: "Services, not elsewhere classified" },
    Division { letter: 'S', ja: "公務（他に分類されるものを除く）", en: "Government, except elsewhere classified" },
    Division { letter: 'T', ja: "分類不能の産業", en: "Industries unable to classify" },
];

/// The division of a letter (`E`, or `e`; surrounding spaces ignored).
pub fn division(letter: &str) -> Option<&'static Division> {
    let mut chars = letter.trim().chars();
    let c = chars.next()?.to_ascii_uppercase();
    if chars.next().is_some() {
        return None;
    }
    DIVISIONS.iter().find(|d| d.letter == c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_run_a_to_t_in_order() {
        let letters: String = DIVISIONS.iter().map(|d| d.letter).collect();
        assert_eq!(letters, "ABCDEFGHIJKLMNOPQRST");
    }

    #[test]
    fn division_accepts_one_letter_only() {
        assert_eq!(division(" e ").map(|d| d.en), Some("Manufacturing"));
        assert_eq!(division("D").map(|d| d.ja), Some("建設業"));
        assert!(division("U").is_none());
        assert!(division("DE").is_none());
        assert!(division("").is_none());
    }
}
