//! CUDA C kernels compiled at run time with NVRTC: the one loader for the training ops here and
//! the trainer's AdamW update, so both compile once per process and load once per device.

use std::sync::{Arc, OnceLock};

use candle_core::cuda_backend::cudarc::driver::{CudaFunction, CudaStream, LaunchArgs};
use candle_core::cuda_backend::cudarc::nvrtc;
use candle_core::{CudaDevice, Result};

/// One CUDA C source and the module its kernels load into.
pub struct Kernels {
    /// What the kernels are for, for error messages ("training", "AdamW").
    what: &'static str,
    module: &'static str,
    source: &'static str,
    ptx: OnceLock<std::result::Result<String, String>>,
}

/// A loaded kernel and the device's stream it launches on.
pub struct Kernel {
    func: CudaFunction,
    stream: Arc<CudaStream>,
}

impl Kernel {
    pub fn builder(&self) -> LaunchArgs<'_> {
        self.stream.launch_builder(&self.func)
    }
}

impl Kernels {
    pub const fn new(what: &'static str, module: &'static str, source: &'static str) -> Self {
        Self {
            what,
            module,
            source,
            ptx: OnceLock::new(),
        }
    }

    /// The source as PTX, compiled on first use; a failure is kept, so it is reported each time.
    fn ptx(&self) -> Result<&str> {
        self.ptx
            .get_or_init(|| {
                nvrtc::compile_ptx(self.source)
                    .map(|p| p.to_src())
                    .map_err(|e| e.to_string())
            })
            .as_deref()
            .map_err(|e| {
                candle_core::Error::Msg(format!(
                    "compiling the {} kernels with NVRTC: {e}",
                    self.what
                ))
            })
    }

    /// The kernels `names` on `device`, the module loaded into it on first use there.
    pub fn load<const N: usize>(
        &self,
        device: &CudaDevice,
        names: [&str; N],
    ) -> Result<[Kernel; N]> {
        let ptx = self.ptx()?;
        let stream = device.cuda_stream();
        let mut failed = Vec::new();
        let loaded = names.map(|name| {
            device
                .get_or_load_custom_func(name, self.module, ptx)
                .map_err(|e| failed.push(format!("{name} ({e})")))
                .ok()
        });
        if !failed.is_empty() {
            candle_core::bail!(
                "loading the {} kernels {} from module {}",
                self.what,
                failed.join(", "),
                self.module
            );
        }
        Ok(loaded.map(|func| Kernel {
            func: func.expect("each kernel loaded").into_cuda_function(),
            stream: stream.clone(),
        }))
    }
}
