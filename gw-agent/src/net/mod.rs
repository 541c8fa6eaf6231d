//! Everything that talks to the network stack besides XDP: interface facts,
//! the GLBP sockets, the frames the agent sends itself, and the device
//! address list (netlink), and the watchers of tracked objects.

pub mod addrlist;
pub mod frame;
pub mod frame6;
pub mod iface;
pub mod mcast6;
mod recv;
pub mod socket;
mod socket6;
pub mod track;
