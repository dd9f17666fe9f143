//! The frame layer: opcodes, header parsing and encoding, masking
//! (RFC 6455 section 5), and the description of a frame for traces.

mod header;
mod info;
mod mask;
mod opcode;
mod preview;

pub(crate) use header::{first_byte, ShortHeader};
pub use header::{FrameHeader, MAX_HEADER_LEN};
pub use info::{Direction, FrameInfo};
pub use mask::{apply_mask, apply_mask_naive};
pub(crate) use mask::{extend_frame_unmasked, extend_unmasked};
pub use opcode::OpCode;
pub use preview::{PayloadPreview, PREVIEW_LEN};
