//! PowerPoint 97-2003: the `PowerPoint Document` stream keeps the VBA project and embedded OLE objects
//! as ExOleObjStg records (zlib-compressed compound files), not as storages of the outer file.

/// ExOleObjStg record type (MS-PPT 2.10.34).
const EX_OLE_OBJ_STG: u16 = 0x1011;
/// CryptSession10Container: the presentation is encrypted.
const CRYPT_SESSION: u16 = 0x2F14;

/// What the record walk found.
#[derive(Default)]
pub(crate) struct PptScan<'d> {
    /// (compressed?, record body)
    pub objects: Vec<(bool, &'d [u8])>,
    pub encrypted: bool,
}

/// Walks the record tree (containers have recVer 0xF and are entered, atoms are skipped).
pub(crate) fn scan_records(stream: &[u8], max_objects: usize) -> PptScan<'_> {
    let mut out = PptScan::default();
    let mut pos = 0usize;
    while let Some(h) = stream.get(pos..pos.saturating_add(8)) {
        let ver_inst = u16::from_le_bytes([h[0], h[1]]);
        let rec_type = u16::from_le_bytes([h[2], h[3]]);
        let len = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize;
        let body_start = pos + 8;
        if ver_inst & 0x000F == 0x000F {
            if rec_type == CRYPT_SESSION {
                out.encrypted = true;
            }
            pos = body_start;
            continue;
        }
        let body_end = body_start.saturating_add(len);
        if rec_type == EX_OLE_OBJ_STG && out.objects.len() < max_objects {
            if let Some(body) = stream.get(body_start..body_end.min(stream.len())) {
                out.objects.push(((ver_inst >> 4) == 1, body));
            }
        }
        pos = body_end;
    }
    out
}
