//! `gpu`: qroute's own state vector in WGSL compute shaders, on any wgpu adapter (Vulkan,
//! Metal, DX12; in tests, Mesa's software Vulkan driver).
//!
//! A circuit becomes a list of operations (2x2 with a control mask, 4x4, or diagonal; runs of
//! single-qubit gates fused), written once into a uniform buffer and applied in one compute
//! pass, one dispatch per operation, each reading its operation at a dynamic offset. The
//! state is read back once and shots are sampled on the host with the run's seed. Amplitudes
//! are f32 pairs unless the run asks for f64 and the adapter has `SHADER_F64`.
//!
//! Terminal measurements only: circuits with mid-circuit measurement, reset or `if` are not
//! eligible. With no adapter the backend is listed as unavailable with the reason.

mod compile;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use super::{
    Availability, Backend, BackendError, BackendKind, Capabilities, CircuitFacts, Fidelity,
    Ineligible, Outcome, Precision, Price, RunSpec, check_common, human_bytes,
};
use crate::circuit::Circuit;
use crate::features::Feature;
use crate::rng::Rng;

fn bytes_per_amplitude(p: Precision) -> u64 {
    match p {
        Precision::F32 => 8,
        Precision::F64 => 16,
    }
}

/// Most qubits the kernels index (u32 amplitude indices and control masks).
const MAX_GPU_QUBITS: u32 = 30;
const WORKGROUP: u32 = 64;
const MAX_GROUPS_X: u32 = 65535;

/// One device, opened once per process.
struct Context {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    limits: wgpu::Limits,
    f64: bool,
    layout: wgpu::BindGroupLayout,
    pipelines: Mutex<[Option<Arc<wgpu::ComputePipeline>>; 2]>,
    /// Device errors land here instead of panicking; a job checks it when it ends.
    error: Arc<Mutex<Option<String>>>,
    /// One job at a time on the device.
    busy: Mutex<()>,
}

fn context() -> &'static Result<Context, String> {
    static CTX: OnceLock<Result<Context, String>> = OnceLock::new();
    CTX.get_or_init(open)
}

fn open() -> Result<Context, String> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12,
        ..wgpu::InstanceDescriptor::new_without_display_handle_from_env()
    });
    let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
        power_preference: wgpu::PowerPreference::HighPerformance,
        ..Default::default()
    }))
    .map_err(|e| format!("no GPU adapter (Vulkan, Metal or DX12): {e}"))?;
    let info = adapter.get_info();
    let f64 = adapter.features().contains(wgpu::Features::SHADER_F64);
    let required_features = if f64 {
        wgpu::Features::SHADER_F64
    } else {
        wgpu::Features::empty()
    };
    // Ask for everything the adapter offers, so that large state vectors fit.
    let limits = adapter.limits();
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("qroute"),
        required_features,
        required_limits: limits.clone(),
        ..Default::default()
    }))
    .map_err(|e| format!("cannot open {}: {e}", info.name))?;
    let error = Arc::new(Mutex::new(None));
    let sink = error.clone();
    device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
        let mut slot = sink.lock().unwrap_or_else(|p| p.into_inner());
        slot.get_or_insert_with(|| e.to_string());
    }));
    let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
        label: Some("qroute state"),
        entries: &[
            wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Storage { read_only: false },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            },
            wgpu::BindGroupLayoutEntry {
                binding: 1,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: true,
                    min_binding_size: None,
                },
                count: None,
            },
        ],
    });
    Ok(Context {
        device,
        queue,
        info,
        limits,
        f64,
        layout,
        pipelines: Mutex::new([None, None]),
        error,
        busy: Mutex::new(()),
    })
}

impl Context {
    fn pipeline(&self, p: Precision) -> Arc<wgpu::ComputePipeline> {
        let mut slots = self.pipelines.lock().unwrap_or_else(|e| e.into_inner());
        let slot = &mut slots[p as usize];
        if let Some(pl) = slot {
            return pl.clone();
        }
        let scalar = match p {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        };
        let source = include_str!("statevector.wgsl").replace("SCALAR", scalar);
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("qroute statevector"),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        let layout = self
            .device
            .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("qroute statevector"),
                bind_group_layouts: &[Some(&self.layout)],
                immediate_size: 0,
            });
        let pl = Arc::new(
            self.device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some("qroute statevector"),
                    layout: Some(&layout),
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: Default::default(),
                    cache: None,
                }),
        );
        *slot = Some(pl.clone());
        pl
    }

    /// Largest state vector one buffer may hold, bytes.
    fn max_state_bytes(&self) -> u64 {
        self.limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size)
    }

    fn take_error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// The GPU state vector as a [`Backend`].
#[derive(Debug, Clone)]
pub struct GpuBackend {
    price: Price,
}

impl GpuBackend {
    /// The backend with `price`. The device is opened on first use.
    pub fn new(price: Price) -> GpuBackend {
        GpuBackend { price }
    }

    /// The adapter's name and graphics backend, when there is one.
    pub fn adapter(&self) -> Option<(String, String)> {
        context()
            .as_ref()
            .ok()
            .map(|c| (c.info.name.clone(), format!("{:?}", c.info.backend)))
    }

    /// Whether f64 amplitudes are available.
    pub fn supports_f64(&self) -> bool {
        context().as_ref().is_ok_and(|c| c.f64)
    }

    fn ineligible(&self, reason: String) -> Ineligible {
        Ineligible {
            backend: "gpu".into(),
            reason,
        }
    }

    fn error(&self, message: String) -> BackendError {
        BackendError::Simulation {
            backend: "gpu".into(),
            message,
        }
    }

    /// The final state's probabilities (qubit 0 = least significant bit of the index), for
    /// tests and cross-checks. Measurements are ignored.
    pub fn probabilities(
        &self,
        circuit: &Circuit,
        spec: &RunSpec,
    ) -> Result<Vec<f64>, BackendError> {
        let ctx = self.ctx()?;
        let program = compile::compile(circuit);
        self.run(ctx, circuit.num_qubits(), &program, precision(spec))
            .map(|(p, _)| p)
    }

    fn ctx(&self) -> Result<&'static Context, BackendError> {
        context().as_ref().map_err(|e| BackendError::Unavailable {
            backend: "gpu".into(),
            reason: e.clone(),
        })
    }

    /// Applies the program to |0…0⟩ and returns the probabilities and the number of
    /// operations dispatched.
    fn run(
        &self,
        ctx: &Context,
        n: u32,
        program: &compile::Program,
        p: Precision,
    ) -> Result<(Vec<f64>, usize), BackendError> {
        let _busy = ctx.busy.lock().unwrap_or_else(|e| e.into_inner());
        let _ = ctx.take_error();
        let dev = &ctx.device;
        let amp = bytes_per_amplitude(p);
        let state_bytes = amp << n;
        let state = dev.create_buffer(&wgpu::BufferDescriptor {
            label: Some("qroute state"),
            size: state_bytes,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let readback = dev.create_buffer(&wgpu::BufferDescriptor {
            label: Some("qroute readback"),
            size: state_bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        // |0…0⟩: amplitude 0 is 1, the rest are the buffer's initial zeros.
        let one: Vec<u8> = match p {
            Precision::F32 => [1f32.to_le_bytes(), 0f32.to_le_bytes()].concat(),
            Precision::F64 => [1f64.to_le_bytes(), 0f64.to_le_bytes()].concat(),
        };
        // Operation records, each at an offset the device accepts for dynamic uniforms.
        let record = match p {
            Precision::F32 => 32 + 8 * 16,
            Precision::F64 => 32 + 8 * 32,
        } as u64;
        let align = ctx.limits.min_uniform_buffer_offset_alignment as u64;
        let stride = record.div_ceil(align) * align;
        let count = program.ops.len().max(1) as u64;
        let mut bytes = vec![0u8; (stride * count) as usize];
        let mut dispatches = Vec::with_capacity(program.ops.len());
        for (i, op) in program.ops.iter().enumerate() {
            let items: u64 = match op.kind {
                0 => 1 << (n - 1),
                1 => 1 << (n - 2),
                _ => 1 << n,
            };
            let base = i * stride as usize;
            let header = [op.kind, op.q0, op.q1, op.cmask, items as u32, 0, 0, 0];
            for (k, v) in header.iter().enumerate() {
                bytes[base + 4 * k..base + 4 * k + 4].copy_from_slice(&v.to_le_bytes());
            }
            let mut at = base + 32;
            for z in &op.m {
                match p {
                    Precision::F32 => {
                        bytes[at..at + 4].copy_from_slice(&(z.re as f32).to_le_bytes());
                        bytes[at + 4..at + 8].copy_from_slice(&(z.im as f32).to_le_bytes());
                        at += 8;
                    }
                    Precision::F64 => {
                        bytes[at..at + 8].copy_from_slice(&z.re.to_le_bytes());
                        bytes[at + 8..at + 16].copy_from_slice(&z.im.to_le_bytes());
                        at += 16;
                    }
                }
            }
            let groups = (items as u32).div_ceil(WORKGROUP);
            let (x, y) = if groups > MAX_GROUPS_X {
                (MAX_GROUPS_X, groups.div_ceil(MAX_GROUPS_X))
            } else {
                (groups.max(1), 1)
            };
            dispatches.push(((i as u64 * stride) as u32, x, y));
        }
        let uniforms = dev.create_buffer(&wgpu::BufferDescriptor {
            label: Some("qroute ops"),
            size: bytes.len() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        ctx.queue.write_buffer(&uniforms, 0, &bytes);
        let bind = dev.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("qroute state"),
            layout: &ctx.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: state.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &uniforms,
                        offset: 0,
                        size: wgpu::BufferSize::new(record),
                    }),
                },
            ],
        });
        let pipeline = ctx.pipeline(p);
        let mut enc = dev.create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("qroute run"),
        });
        // wgpu zero-initialises new buffers; queued writes land before the pass runs.
        ctx.queue.write_buffer(&state, 0, &one);
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("qroute gates"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&pipeline);
            for &(offset, x, y) in &dispatches {
                pass.set_bind_group(0, &bind, &[offset]);
                pass.dispatch_workgroups(x, y, 1);
            }
        }
        enc.copy_buffer_to_buffer(&state, 0, &readback, 0, state_bytes);
        ctx.queue.submit([enc.finish()]);
        let (tx, rx) = std::sync::mpsc::channel();
        readback.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        dev.poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| self.error(format!("device wait failed: {e}")))?;
        if let Some(e) = ctx.take_error() {
            return Err(self.error(format!("device error: {e}")));
        }
        rx.recv()
            .map_err(|_| self.error("the readback never completed".into()))?
            .map_err(|e| self.error(format!("readback failed: {e}")))?;
        let view = readback
            .get_mapped_range(..)
            .map_err(|e| self.error(format!("readback failed: {e}")))?;
        let probs: Vec<f64> = match p {
            Precision::F32 => view
                .chunks_exact(8)
                .map(|c| {
                    let re = f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64;
                    let im = f32::from_le_bytes([c[4], c[5], c[6], c[7]]) as f64;
                    re * re + im * im
                })
                .collect(),
            Precision::F64 => view
                .chunks_exact(16)
                .map(|c| {
                    let mut re = [0u8; 8];
                    let mut im = [0u8; 8];
                    re.copy_from_slice(&c[..8]);
                    im.copy_from_slice(&c[8..]);
                    let (re, im) = (f64::from_le_bytes(re), f64::from_le_bytes(im));
                    re * re + im * im
                })
                .collect(),
        };
        drop(view);
        readback.unmap();
        Ok((probs, program.ops.len()))
    }
}

fn precision(spec: &RunSpec) -> Precision {
    spec.options.precision.unwrap_or_default()
}

/// Samples `shots` basis states from `probs` (normalised by their sum) with `seed`.
fn sample(probs: &[f64], shots: u64, seed: u64) -> Vec<(usize, u64)> {
    let mut cdf = Vec::with_capacity(probs.len());
    let mut acc = 0.0;
    for p in probs {
        acc += p;
        cdf.push(acc);
    }
    let mut rng = Rng::new(seed);
    let mut hits: BTreeMap<usize, u64> = BTreeMap::new();
    for _ in 0..shots {
        let u = rng.f64() * acc;
        let i = cdf.partition_point(|&c| c <= u).min(probs.len() - 1);
        *hits.entry(i).or_insert(0) += 1;
    }
    hits.into_iter().collect()
}

impl Backend for GpuBackend {
    fn name(&self) -> &str {
        "gpu"
    }

    fn kind(&self) -> BackendKind {
        BackendKind::Gpu
    }

    fn check(&self, facts: &CircuitFacts<'_>, spec: &RunSpec) -> Result<Fidelity, Ineligible> {
        let features = facts.features;
        let ctx = context()
            .as_ref()
            .map_err(|e| self.ineligible(format!("unavailable: {e}")))?;
        check_common("gpu", &self.capabilities(), facts)?;
        let n = features[Feature::NumQubits] as u32;
        if n > MAX_GPU_QUBITS {
            return Err(self.ineligible(format!(
                "circuit has {n} qubits, the GPU kernels take at most {MAX_GPU_QUBITS}"
            )));
        }
        let p = precision(spec);
        if p == Precision::F64 && !ctx.f64 {
            return Err(self.ineligible(format!(
                "f64 requested, but adapter {} has no SHADER_F64",
                ctx.info.name
            )));
        }
        let need = bytes_per_amplitude(p) << n;
        if need > ctx.max_state_bytes() {
            return Err(self.ineligible(format!(
                "needs {} for {n} qubits at {p:?}, adapter {} allows {} per buffer",
                human_bytes(need as f64),
                ctx.info.name,
                human_bytes(ctx.max_state_bytes() as f64)
            )));
        }
        // The state is read back to the host: it must fit the memory budget twice over
        // (device copy on unified-memory adapters such as the software driver, and the host).
        if let Some(b) = spec.memory_budget
            && 2 * need > b
        {
            return Err(self.ineligible(format!(
                "needs {} for {n} qubits at {p:?} (device and host copy), memory budget {}",
                human_bytes(2.0 * need as f64),
                human_bytes(b as f64)
            )));
        }
        Ok(Fidelity::Exact)
    }

    fn execute(&self, circuit: &Circuit, spec: &RunSpec) -> Result<Outcome, BackendError> {
        let ctx = self.ctx()?;
        let features = crate::features::extract(circuit);
        self.check_circuit(circuit, &features, spec)?;
        let wall0 = Instant::now();
        let cpu0 = cpu_time::ProcessTime::try_now().ok();
        let p = precision(spec);
        let program = compile::compile(circuit);
        let (probs, dispatched) = self.run(ctx, circuit.num_qubits(), &program, p)?;
        let nc = circuit.num_clbits() as usize;
        let mut counts = BTreeMap::new();
        if spec.shots > 0 {
            for (basis, hits) in sample(&probs, spec.shots, spec.seed) {
                let mut bits = vec![b'0'; nc];
                for &(q, c) in &program.measures {
                    bits[nc - 1 - c as usize] = if basis >> q & 1 == 1 { b'1' } else { b'0' };
                }
                let key = String::from_utf8(bits).unwrap_or_default();
                *counts.entry(key).or_insert(0) += hits;
            }
        }
        let wall = wall0.elapsed();
        let cpu = cpu0.and_then(|c| c.try_elapsed().ok()).unwrap_or_default();
        let mut metadata = BTreeMap::new();
        metadata.insert("adapter".into(), ctx.info.name.clone());
        metadata.insert("graphics_backend".into(), format!("{:?}", ctx.info.backend));
        metadata.insert("device_type".into(), format!("{:?}", ctx.info.device_type));
        metadata.insert("precision".into(), format!("{p:?}").to_lowercase());
        metadata.insert("dispatches".into(), dispatched.to_string());
        metadata.insert("engine".into(), "wgpu statevector".into());
        metadata.insert("version".into(), self.version());
        Ok(Outcome {
            counts,
            wall,
            cpu,
            peak_memory: None,
            fidelity: 1.0,
            metadata,
        })
    }

    fn price(&self) -> Price {
        self.price
    }

    fn device(&self) -> Option<String> {
        let info = &context().as_ref().ok()?.info;
        Some(if info.device_type == wgpu::DeviceType::Cpu {
            format!(
                "software rasteriser {} ({:?}), not a GPU",
                info.name, info.backend
            )
        } else {
            format!("{} ({:?}, {:?})", info.name, info.device_type, info.backend)
        })
    }

    fn availability(&self) -> Availability {
        match context() {
            Ok(_) => Availability::Available,
            Err(e) => Availability::Unavailable(e.clone()),
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            max_qubits: Some(MAX_GPU_QUBITS),
            clifford_only: false,
            gates: None,
            dynamic_circuits: false,
            approximate: false,
        }
    }

    fn version(&self) -> String {
        match self.adapter() {
            Some((name, backend)) => format!("qroute wgpu 30 on {name} ({backend})"),
            None => "qroute wgpu 30".into(),
        }
    }
}
