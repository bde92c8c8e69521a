//! Settings of the CUDA driver that a training step's thousands of small tensors need: left at
//! their defaults, each allocation also creates two events and freed memory goes back to the driver
//! at every synchronisation, so the next step maps it again. PyTorch avoids both with its own
//! caching allocator; here the driver's stream-ordered pool is told to keep what it frees.

use anyhow::Result;
use candle_core::Device;

/// Applies the settings to `device` when it is a GPU; a no-op on the CPU. Call it before any tensor
/// is made on the device.
pub fn tune(device: &Device) -> Result<()> {
    #[cfg(feature = "cuda")]
    if let Device::Cuda(cuda) = device {
        cuda::tune(cuda)?;
    }
    let _ = device;
    Ok(())
}

#[cfg(feature = "cuda")]
mod cuda {
    use anyhow::{Context, Result};
    use candle_core::cuda_backend::cudarc::driver::{result, sys};
    use candle_core::CudaDevice;

    pub fn tune(device: &CudaDevice) -> Result<()> {
        // SAFETY: the trainer issues all its GPU work on the device's one stream (cuBLAS and cuRAND
        // share it), so the events that order work across streams have nothing to order.
        unsafe { device.disable_event_tracking() };
        let stream = device.cuda_stream();
        let context = stream.context();
        context
            .bind_to_thread()
            .context("binding the CUDA context")?;
        let mut keep = u64::MAX;
        // SAFETY: the pool is the device's own default pool; RELEASE_THRESHOLD takes a u64.
        unsafe {
            let pool = result::device::get_default_mem_pool(context.cu_device())
                .context("reading the GPU's default memory pool")?;
            result::mem_pool::set_attribute(
                pool,
                sys::CUmemPool_attribute::CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
                (&mut keep as *mut u64).cast(),
            )
            .context("setting the GPU memory pool's release threshold")?;
        }
        Ok(())
    }
}
