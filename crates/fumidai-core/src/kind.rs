use serde::{Serialize, Serializer};

macro_rules! file_kinds {
    ($( $variant:ident => $label:literal, $mime:literal, [$($ext:literal),*], $risk:ident; )*) => {
        /// What a file really is, judged from its bytes (never from its name).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum FileKind { $($variant),* }

        impl FileKind {
            /// Every kind, for tables and tests.
            pub const ALL: &'static [FileKind] = &[$(FileKind::$variant),*];

            /// Short stable label used in reports, e.g. `xlsm`, `zip`, `pe`.
            pub fn label(self) -> &'static str { match self { $(FileKind::$variant => $label),* } }

            /// The usual MIME type.
            pub fn mime(self) -> &'static str { match self { $(FileKind::$variant => $mime),* } }

            /// File name extensions (lower case, no dot) under which this kind is expected.
            pub fn extensions(self) -> &'static [&'static str] { match self { $(FileKind::$variant => &[$($ext),*]),* } }

            /// How dangerous the kind is to hand to a user, whatever its name says.
            pub fn risk(self) -> Risk { match self { $(FileKind::$variant => Risk::$risk),* } }
        }
    };
}

/// How dangerous a kind of file is to deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Risk {
    /// Data a viewer shows (text, images).
    Inert,
    /// Documents and containers that may carry active content; inspected further.
    Container,
    /// Runs code when opened (executables, scripts, shortcuts, disk images, OneNote).
    Executable,
}

file_kinds! {
    Unknown => "unknown", "application/octet-stream", [], Container;
    Text => "text", "text/plain", ["txt", "log", "csv", "md", "ini", "cfg"], Inert;
    Html => "html", "text/html", ["html", "htm", "xhtml", "shtml", "mht", "mhtml"], Container;
    Xml => "xml", "application/xml", ["xml", "svg"], Container;
    Message => "eml", "message/rfc822", ["eml", "msg", "mht"], Container;
    Png => "png", "image/png", ["png"], Inert;
    Jpeg => "jpeg", "image/jpeg", ["jpg", "jpeg", "jpe", "jfif"], Inert;
    Gif => "gif", "image/gif", ["gif"], Inert;
    Bmp => "bmp", "image/bmp", ["bmp"], Inert;
    Tiff => "tiff", "image/tiff", ["tif", "tiff"], Inert;
    Webp => "webp", "image/webp", ["webp"], Inert;
    Pdf => "pdf", "application/pdf", ["pdf"], Container;
    Rtf => "rtf", "application/rtf", ["rtf", "doc"], Container;
    Ole2 => "ole2", "application/x-ole-storage", ["doc", "xls", "ppt", "dot", "xlt", "pot", "pps", "msg", "msi", "vsd", "pub"], Container;
    Doc => "doc", "application/msword", ["doc", "dot"], Container;
    Xls => "xls", "application/vnd.ms-excel", ["xls", "xlt", "xla"], Container;
    Ppt => "ppt", "application/vnd.ms-powerpoint", ["ppt", "pps", "pot"], Container;
    OutlookMsg => "msg", "application/vnd.ms-outlook", ["msg"], Container;
    Msi => "msi", "application/x-msi", ["msi", "msp"], Executable;
    EncryptedOffice => "encrypted-office", "application/x-ole-storage", ["docx", "docm", "xlsx", "xlsm", "xlsb", "pptx", "pptm", "doc", "xls", "ppt"], Container;
    Docx => "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ["docx", "dotx"], Container;
    Docm => "docm", "application/vnd.ms-word.document.macroEnabled.12", ["docm", "dotm"], Container;
    Xlsx => "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ["xlsx", "xltx"], Container;
    Xlsm => "xlsm", "application/vnd.ms-excel.sheet.macroEnabled.12", ["xlsm", "xltm", "xlam"], Container;
    Xlsb => "xlsb", "application/vnd.ms-excel.sheet.binary.macroEnabled.12", ["xlsb"], Container;
    Pptx => "pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", ["pptx", "ppsx", "potx"], Container;
    Pptm => "pptm", "application/vnd.ms-powerpoint.presentation.macroEnabled.12", ["pptm", "ppsm", "potm"], Container;
    Odf => "odf", "application/vnd.oasis.opendocument", ["odt", "ods", "odp", "odg", "ott", "ots"], Container;
    Slk => "slk", "application/x-sylk", ["slk", "sylk"], Container;
    OneNote => "onenote", "application/onenote", ["one", "onepkg"], Executable;
    Lnk => "lnk", "application/x-ms-shortcut", ["lnk"], Executable;
    Url => "url", "application/x-url", ["url", "website"], Executable;
    Iso => "iso", "application/x-iso9660-image", ["iso", "img"], Executable;
    Udf => "udf", "application/x-udf-image", ["iso", "img", "udf"], Executable;
    Vhd => "vhd", "application/x-vhd", ["vhd", "vhdx"], Executable;
    Zip => "zip", "application/zip", ["zip"], Container;
    Jar => "jar", "application/java-archive", ["jar"], Executable;
    SevenZip => "7z", "application/x-7z-compressed", ["7z"], Container;
    Rar => "rar", "application/vnd.rar", ["rar"], Container;
    Tar => "tar", "application/x-tar", ["tar"], Container;
    Gzip => "gzip", "application/gzip", ["gz", "tgz"], Container;
    Bzip2 => "bzip2", "application/x-bzip2", ["bz2", "tbz2"], Container;
    Xz => "xz", "application/x-xz", ["xz", "txz"], Container;
    Cab => "cab", "application/vnd.ms-cab-compressed", ["cab"], Container;
    Lzh => "lzh", "application/x-lzh-compressed", ["lzh", "lha"], Container;
    Pe => "pe", "application/x-msdownload", ["exe", "dll", "scr", "com", "pif", "cpl", "sys", "ocx"], Executable;
    Elf => "elf", "application/x-executable", [], Executable;
    MachO => "macho", "application/x-mach-binary", [], Executable;
    DosCom => "com", "application/x-dosexec", ["com", "exe"], Executable;
    JavaScript => "js", "text/javascript", ["js", "jse", "mjs"], Executable;
    VbScript => "vbs", "text/vbscript", ["vbs", "vbe"], Executable;
    PowerShell => "ps1", "text/x-powershell", ["ps1", "psm1", "psd1"], Executable;
    Batch => "bat", "text/x-bat", ["bat", "cmd"], Executable;
    Hta => "hta", "application/hta", ["hta"], Executable;
    Wsf => "wsf", "text/xml", ["wsf", "wsh", "wsc"], Executable;
    Eicar => "eicar", "application/x-eicar-test", ["com", "txt"], Executable;
}

impl Serialize for FileKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.label())
    }
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

impl FileKind {
    /// Whether a name's extension (lower case, no dot) fits this kind.
    pub fn fits_extension(self, ext: &str) -> bool {
        self.extensions()
            .iter()
            .any(|e| e.eq_ignore_ascii_case(ext))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for k in FileKind::ALL {
            assert!(seen.insert(k.label()), "duplicate label {}", k.label());
        }
    }

    #[test]
    fn extension_fit_ignores_case() {
        assert!(FileKind::Xlsm.fits_extension("XLSM"));
        assert!(!FileKind::Pe.fits_extension("pdf"));
    }
}
