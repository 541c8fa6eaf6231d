//! Bounds-checked access to the frame. Every read and write checks against
//! `data_end` right before the access, the pattern the verifier accepts.

use aya_ebpf::programs::XdpContext;

/// ARP for IPv4 over Ethernet is 28 bytes.
pub const ARP_LEN: usize = 28;

/// Field offsets inside the ARP header (RFC 826).
pub mod arp_off {
    pub const HTYPE: usize = 0;
    pub const PTYPE: usize = 2;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: usize = 6;
    pub const SHA: usize = 8;
    pub const SPA: usize = 14;
    pub const THA: usize = 18;
    pub const TPA: usize = 24;
}

const ETH_HLEN: usize = 14;
const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;

/// What the Ethernet and VLAN headers say.
pub struct L2 {
    pub dst: [u8; 6],
    /// Ethertype after the tags.
    pub ethertype: u16,
    /// Offset of the payload after the tags.
    pub off: usize,
    /// VLAN id of the innermost tag, 0 if untagged.
    pub vlan: u16,
}

pub struct Frame {
    start: usize,
    end: usize,
}

impl Frame {
    #[inline(always)]
    pub fn new(ctx: &XdpContext) -> Self {
        Self {
            start: ctx.data(),
            end: ctx.data_end(),
        }
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    #[inline(always)]
    pub fn has(&self, off: usize, len: usize) -> bool {
        self.start + off + len <= self.end
    }

    /// Pointer to `N` bytes at `off`, or `None` past the end.
    #[inline(always)]
    fn ptr<const N: usize>(&self, off: usize) -> Option<*mut [u8; N]> {
        if self.start + off + N > self.end {
            return None;
        }
        Some((self.start + off) as *mut [u8; N])
    }

    /// Reads `N` bytes; callers check `has` first, so past the end reads
    /// zeros rather than failing (never happens on checked paths).
    #[inline(always)]
    pub fn bytes_at<const N: usize>(&self, off: usize) -> [u8; N] {
        match self.ptr::<N>(off) {
            Some(p) => unsafe { *p },
            None => [0; N],
        }
    }

    #[inline(always)]
    pub fn u8_at(&self, off: usize) -> u8 {
        self.bytes_at::<1>(off)[0]
    }

    #[inline(always)]
    pub fn u16_at(&self, off: usize) -> u16 {
        u16::from_be_bytes(self.bytes_at::<2>(off))
    }

    #[inline(always)]
    pub fn set_bytes<const N: usize>(&self, off: usize, v: &[u8; N]) {
        if let Some(p) = self.ptr::<N>(off) {
            unsafe { *p = *v };
        }
    }

    #[inline(always)]
    pub fn set_u16(&self, off: usize, v: u16) {
        self.set_bytes(off, &v.to_be_bytes());
    }

    /// Parses Ethernet and up to two VLAN tags; `None` if truncated.
    #[inline(always)]
    pub fn l2(&self) -> Option<L2> {
        let dst: [u8; 6] = unsafe { *self.ptr::<6>(0)? };
        let mut ethertype = u16::from_be_bytes(unsafe { *self.ptr::<2>(12)? });
        let mut off = ETH_HLEN;
        let mut vlan = 0;
        // Unrolled: at most two tags (QinQ).
        if ethertype == ETH_P_8021Q || ethertype == ETH_P_8021AD {
            let tag: [u8; 4] = unsafe { *self.ptr::<4>(off)? };
            vlan = u16::from_be_bytes([tag[0], tag[1]]) & 0x0fff;
            ethertype = u16::from_be_bytes([tag[2], tag[3]]);
            off += 4;
            if ethertype == ETH_P_8021Q || ethertype == ETH_P_8021AD {
                let tag: [u8; 4] = unsafe { *self.ptr::<4>(off)? };
                vlan = u16::from_be_bytes([tag[0], tag[1]]) & 0x0fff;
                ethertype = u16::from_be_bytes([tag[2], tag[3]]);
                off += 4;
            }
        }
        Some(L2 {
            dst,
            ethertype,
            off,
            vlan,
        })
    }
}
