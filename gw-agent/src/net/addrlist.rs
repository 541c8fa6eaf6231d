//! The device's unicast address list: NICs that filter unicast MACs must be
//! told to accept the vMACs this router forwards for (`bridge fdb add MAC
//! dev IF self permanent` does the same).

use rtnetlink::{
    Handle,
    packet_route::AddressFamily,
    packet_route::neighbour::{
        NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
    },
};

pub struct AddrList {
    handle: Handle,
    ifindex: u32,
}

impl AddrList {
    /// Needs a tokio runtime: the netlink connection runs as a task.
    pub fn new(ifindex: u32) -> std::io::Result<Self> {
        let (conn, handle, _) = rtnetlink::new_connection()?;
        tokio::spawn(conn);
        Ok(Self { handle, ifindex })
    }

    pub async fn add(&self, mac: [u8; 6]) -> Result<(), rtnetlink::Error> {
        self.handle
            .neighbours()
            .add_bridge(self.ifindex, &mac)
            .flags(NeighbourFlags::Own)
            .replace()
            .execute()
            .await
    }

    pub async fn remove(&self, mac: [u8; 6]) -> Result<(), rtnetlink::Error> {
        let mut m = NeighbourMessage::default();
        m.header.family = AddressFamily::Bridge;
        m.header.ifindex = self.ifindex;
        m.header.state = NeighbourState::Permanent;
        m.header.flags = NeighbourFlags::Own;
        m.attributes
            .push(NeighbourAttribute::LinkLocalAddress(mac.to_vec()));
        self.handle.neighbours().del(m).execute().await
    }
}
