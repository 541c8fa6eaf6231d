//! Facts about the interface the agent serves.

use std::{ffi::CString, net::Ipv4Addr};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    pub index: u32,
    pub mac: [u8; 6],
    /// The primary IPv4 address: IPv4 hellos come from it, ties compare
    /// it. None: an IPv6-only interface (only IPv6-only groups can run).
    pub ip: Option<Ipv4Addr>,
    /// Driver name as ethtool reports it ("veth", "ixgbe", ...).
    pub driver: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum IfaceError {
    #[error("interface {0} does not exist")]
    Missing(String),
    #[error("interface {0} has no Ethernet address")]
    NoMac(String),
    #[error("reading interface addresses: {0}")]
    Io(#[from] std::io::Error),
}

impl Interface {
    pub fn lookup(name: &str) -> Result<Interface, IfaceError> {
        let cname = CString::new(name).map_err(|_| IfaceError::Missing(name.into()))?;
        // SAFETY: valid NUL-terminated string.
        let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
        if index == 0 {
            return Err(IfaceError::Missing(name.into()));
        }
        let (mac, ip) = addresses(name)?;
        let mac = mac.ok_or_else(|| IfaceError::NoMac(name.into()))?;
        Ok(Interface {
            name: name.into(),
            index,
            mac,
            ip,
            driver: driver(name),
        })
    }
}

/// MAC and first IPv4 address of `name`, from getifaddrs(3).
fn addresses(name: &str) -> Result<(Option<[u8; 6]>, Option<Ipv4Addr>), IfaceError> {
    let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: out-pointer to a list head, freed below.
    if unsafe { libc::getifaddrs(&mut head) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    let (mut mac, mut ip) = (None, None);
    let mut cur = head;
    while !cur.is_null() {
        // SAFETY: cur walks the list getifaddrs returned; fields are valid
        // for its lifetime; sockaddrs are cast per their family.
        unsafe {
            let ifa = &*cur;
            cur = ifa.ifa_next;
            if ifa.ifa_addr.is_null()
                || std::ffi::CStr::from_ptr(ifa.ifa_name).to_bytes() != name.as_bytes()
            {
                continue;
            }
            match (*ifa.ifa_addr).sa_family as i32 {
                libc::AF_PACKET => {
                    let ll = &*(ifa.ifa_addr as *const libc::sockaddr_ll);
                    if ll.sll_halen == 6 {
                        let mut m = [0u8; 6];
                        m.copy_from_slice(&ll.sll_addr[..6]);
                        mac = Some(m);
                    }
                }
                libc::AF_INET if ip.is_none() => {
                    let sin = &*(ifa.ifa_addr as *const libc::sockaddr_in);
                    ip = Some(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)));
                }
                _ => {}
            }
        }
    }
    // SAFETY: head came from getifaddrs.
    unsafe { libc::freeifaddrs(head) };
    Ok((mac, ip))
}

/// ethtool's driver name (ETHTOOL_GDRVINFO), None if unavailable.
fn driver(name: &str) -> Option<String> {
    const ETHTOOL_GDRVINFO: u32 = 0x3;
    const SIOCETHTOOL: libc::c_ulong = 0x8946;
    #[repr(C)]
    struct DrvInfo {
        cmd: u32,
        driver: [u8; 32],
        version: [u8; 32],
        fw_version: [u8; 32],
        bus_info: [u8; 32],
        erom_version: [u8; 32],
        reserved2: [u8; 12],
        n_priv_flags: u32,
        n_stats: u32,
        testinfo_len: u32,
        eedump_len: u32,
        regdump_len: u32,
    }
    // SAFETY: plain-data structs, zero is a valid value; the ioctl writes
    // within DrvInfo; the socket is closed before returning.
    unsafe {
        let mut info: DrvInfo = std::mem::zeroed();
        info.cmd = ETHTOOL_GDRVINFO;
        let mut ifr: libc::ifreq = std::mem::zeroed();
        for (d, s) in ifr.ifr_name.iter_mut().zip(name.bytes().take(15)) {
            *d = s as libc::c_char;
        }
        ifr.ifr_ifru.ifru_data = (&mut info as *mut DrvInfo).cast();
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return None;
        }
        let rc = libc::ioctl(fd, SIOCETHTOOL, &mut ifr);
        libc::close(fd);
        if rc != 0 {
            return None;
        }
        let end = info.driver.iter().position(|b| *b == 0).unwrap_or(32);
        Some(String::from_utf8_lossy(&info.driver[..end]).into_owned())
    }
}
