//! Empty host-side library so gw-agent can name this crate as a build
//! dependency (aya-build rebuilds the object when it changes).
#![no_std]
