//! The stand-in for training's `Dropout` when the `training` feature is off: no value of it can
//! exist, so every pass through the model is an inference pass.

use candle_core::Tensor;

use crate::Result;

/// Has the fields the model reads of the real one; the private field makes it uninhabited.
pub struct Dropout {
    pub hidden: f32,
    pub attention: f32,
    never: std::convert::Infallible,
}

impl Dropout {
    pub fn apply(&mut self, _: &Tensor, _: f32) -> Result<Tensor> {
        match self.never {}
    }

    /// Code given a `Dropout` cannot run.
    pub(crate) fn unreachable(&self) -> ! {
        match self.never {}
    }
}
