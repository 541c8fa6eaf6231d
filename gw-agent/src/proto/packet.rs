//! A whole GLBP message: header plus TLVs.

use super::error::DecodeError;
use super::header::{HEADER_LEN, Header};
use super::tlv::TlvIter;
use super::{Auth, Forwarder, Hello, Packet, Tlv};

impl Packet {
    /// Decodes a GLBP message (a UDP payload). Never panics: any defect
    /// is a `DecodeError`. Unknown TLV types are kept as `Tlv::Unknown`.
    pub fn parse(buf: &[u8]) -> Result<Packet, DecodeError> {
        let header = Header::new_checked(buf)?;
        header.check_fields()?;
        let tlvs = TlvIter::new(header.payload(), HEADER_LEN)
            .map(|raw| raw.and_then(|raw| Tlv::parse(&raw)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Packet {
            group: header.group(),
            owner: header.owner(),
            tlvs,
        })
    }

    /// Bytes `emit` writes: 12 plus every TLV.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.tlvs.iter().map(Tlv::buffer_len).sum::<usize>()
    }

    /// Writes the message at the start of `buf`, TLVs in the order given,
    /// "?" bytes as zero. Panics if `buf` is shorter than `buffer_len()`.
    /// Fields are written as given: a group above 1023 is sent as is
    /// (and would be rejected by `parse`).
    pub fn emit(&self, buf: &mut [u8]) {
        let buf = &mut buf[..self.buffer_len()];
        let (head, mut rest) = buf.split_at_mut(HEADER_LEN);
        Header::new_unchecked(head).emit(self.group, self.owner);
        for tlv in &self.tlvs {
            let (this, next) = rest.split_at_mut(tlv.buffer_len());
            tlv.emit(this);
            rest = next;
        }
    }

    /// `emit` into a new buffer of exactly `buffer_len()` bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut buf = vec![0; self.buffer_len()];
        self.emit(&mut buf);
        buf
    }

    /// The first Hello TLV.
    pub fn hello(&self) -> Option<&Hello> {
        self.tlvs.iter().find_map(|tlv| match tlv {
            Tlv::Hello(hello) => Some(hello),
            _ => None,
        })
    }

    /// Every Request/Response TLV, in order.
    pub fn forwarders(&self) -> impl Iterator<Item = &Forwarder> {
        self.tlvs.iter().filter_map(|tlv| match tlv {
            Tlv::Forwarder(fwd) => Some(fwd),
            _ => None,
        })
    }

    /// The first Authentication TLV.
    pub fn auth(&self) -> Option<&Auth> {
        self.tlvs.iter().find_map(|tlv| match tlv {
            Tlv::Auth(auth) => Some(auth),
            _ => None,
        })
    }
}
