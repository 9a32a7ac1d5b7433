//! EDS and DCF files (CiA 306), sans IO: [`Eds::parse`] reads the bytes of a vendor's
//! electronic data sheet (or a device configuration file) into its object dictionary, and
//! [`to_profile`] turns a CiA 402 drive's dictionary into a linevisor profile skeleton.
//!
//! Real files vary: comments, any case, missing sections, hexadecimal/decimal/octal numbers,
//! `$NODEID+0x180`, empty values, `CompactSubObj`, DCF `ParameterValue`. A file that cannot be
//! read gets an [`EdsError`] with its line, never a panic.

mod build;
mod error;
mod ini;
mod number;
mod object;
mod to_profile;

pub use error::EdsError;
pub use number::Number;
pub use object::{AccessType, DataType, DeviceInfo, Eds, Object, ObjectKind, SubObject, Value};
pub use to_profile::{ProfileOptions, Skeleton, to_profile};

impl Eds {
    /// Reads an EDS or DCF file's bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, EdsError> {
        build::build(&ini::parse(bytes)?)
    }
}
