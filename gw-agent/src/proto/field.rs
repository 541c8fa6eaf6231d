//! Byte-field helpers shared by the wire views (the smoltcp `wire::field`
//! idiom): a field is a byte range inside its header or TLV.
//!
//! The readers are total: they never index out of range, they return zero
//! for bytes the buffer does not have. Views only call them after
//! `check_len` has proven the field present, so the zero fallback is
//! unreachable in practice and exists to keep parse paths panic-free. The
//! writers index directly: emitting into a short buffer is a caller bug
//! (see the panic contract in `proto/mod.rs`).

use std::ops::Range;

/// A byte range inside a header or TLV.
pub type Field = Range<usize>;

/// The byte at `at`, or 0 if the buffer is shorter.
pub(super) fn get_u8(buf: &[u8], at: usize) -> u8 {
    buf.get(at).copied().unwrap_or(0)
}

/// The bytes of `field` as an array, or zeros if the buffer is shorter.
pub(super) fn get_array<const N: usize>(buf: &[u8], field: Field) -> [u8; N] {
    buf.get(field)
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .unwrap_or([0; N])
}

/// Big-endian u16 at `field`, or 0 if the buffer is shorter.
pub(super) fn get_u16(buf: &[u8], field: Field) -> u16 {
    u16::from_be_bytes(get_array(buf, field))
}

/// Big-endian u32 at `field`, or 0 if the buffer is shorter.
pub(super) fn get_u32(buf: &[u8], field: Field) -> u32 {
    u32::from_be_bytes(get_array(buf, field))
}

/// Writes `bytes` at `field`. Panics if the buffer is too short or the
/// field and value differ in length (both caller bugs).
pub(super) fn set_bytes(buf: &mut [u8], field: Field, bytes: &[u8]) {
    buf[field].copy_from_slice(bytes);
}
