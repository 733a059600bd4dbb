//! Telling a component from a core module from something else, by its header.

/// What the first eight bytes of a file say it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WasmEncoding {
    /// A component (`\0asm`, version 0x0d, layer 1).
    Component,
    /// A core module (`\0asm`, version 1, layer 0).
    CoreModule,
    /// `\0asm` with other version/layer bytes (given in hex).
    Unknown(String),
    /// Not `\0asm` at all (the first bytes, in hex).
    NotWasm(String),
}

pub(crate) fn sniff(bytes: &[u8]) -> WasmEncoding {
    let hex = |b: &[u8]| {
        b.iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    match bytes {
        [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00, ..] => WasmEncoding::Component,
        [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ..] => WasmEncoding::CoreModule,
        [0x00, 0x61, 0x73, 0x6d, rest @ ..] => {
            WasmEncoding::Unknown(hex(&rest[..rest.len().min(4)]))
        }
        _ if bytes.is_empty() => WasmEncoding::NotWasm("nothing (the file is empty)".into()),
        _ => WasmEncoding::NotWasm(hex(&bytes[..bytes.len().min(8)])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_components_modules_and_garbage_apart() {
        assert_eq!(sniff(b"\0asm\x0d\0\x01\0rest"), WasmEncoding::Component);
        assert_eq!(sniff(b"\0asm\x01\0\0\0"), WasmEncoding::CoreModule);
        assert_eq!(sniff(b"\0asm\x02\0"), WasmEncoding::Unknown("02 00".into()));
        assert_eq!(
            sniff(b"PK\x03\x04"),
            WasmEncoding::NotWasm("50 4b 03 04".into())
        );
        assert!(matches!(sniff(b""), WasmEncoding::NotWasm(m) if m.contains("empty")));
    }
}
