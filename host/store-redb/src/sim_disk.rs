//! [`SimDisk`]: a redb storage backend in memory that remembers which writes a
//! sync has covered, so that tests and the simulator can cut the power.
//!
//! Reads see every write, as a page cache would. [`SimDisk::sync_data`] makes
//! the writes so far durable. [`SimDisk::power_loss`] builds the disk a machine
//! would find after losing power at this instant: the durable image, then each
//! write and resize made since the last sync either dropped, kept, or torn
//! (kept up to a random 512-byte sector, the rest garbage), each decided on its
//! own from a seed — so unsynced writes also land out of order, as SQLite's
//! crash VFS and redb's own crash tests model them. [`SimDisk::process_crash`]
//! keeps every write (what the OS already had survives a `kill -9`).
//! [`SimDisk::set_full`] makes every write and growth fail with
//! `StorageFull`, as a full disk does.

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use redb::StorageBackend;

/// The sector size a torn write keeps whole.
const SECTOR: usize = 512;

/// A write or resize not yet covered by a sync.
#[derive(Debug, Clone)]
enum Pending {
    Write { offset: u64, data: Vec<u8> },
    SetLen(u64),
}

#[derive(Debug, Default)]
struct DiskState {
    /// What survives a power loss for certain.
    durable: Vec<u8>,
    /// What reads see: `durable` with every pending change applied.
    view: Vec<u8>,
    pending: Vec<Pending>,
    full: bool,
    syncs: u64,
    /// Writes, resizes and syncs still allowed before the power goes;
    /// `None`: no cut is planned.
    power_left: Option<u64>,
}

/// What happened to the unsynced writes at a [`SimDisk::power_loss`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PowerLoss {
    /// Writes and resizes that were lost.
    pub dropped: usize,
    /// Writes and resizes that reached the platter whole.
    pub kept: usize,
    /// Writes cut at a sector, with garbage after the cut.
    pub torn: usize,
}

/// A disk in memory (see the module docs). Clones share the same disk, so a
/// test keeps one while redb owns another.
#[derive(Clone, Default)]
pub struct SimDisk {
    state: Arc<Mutex<DiskState>>,
}

impl fmt::Debug for SimDisk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("SimDisk")
            .field("len", &state.view.len())
            .field("durable_len", &state.durable.len())
            .field("pending", &state.pending.len())
            .field("full", &state.full)
            .finish()
    }
}

impl SimDisk {
    /// An empty disk.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DiskState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes every later write or growth fail with `StorageFull` (`true`),
    /// or lets them through again (`false`).
    pub fn set_full(&self, full: bool) {
        self.lock().full = full;
    }

    /// Cuts the power after `ops` more writes, resizes or syncs: from then on
    /// each of them fails (the machine is dead) and the disk keeps what it had
    /// at that instant, for [`SimDisk::power_loss`]. 0 cuts it now.
    pub fn cut_power_after(&self, ops: u64) {
        self.lock().power_left = Some(ops);
    }

    /// Whether the power was cut (see [`SimDisk::cut_power_after`]).
    pub fn power_is_out(&self) -> bool {
        self.lock().power_left == Some(0)
    }

    /// How many syncs the disk has seen.
    pub fn syncs(&self) -> u64 {
        self.lock().syncs
    }

    /// How many writes and resizes no sync has covered yet.
    pub fn unsynced(&self) -> usize {
        self.lock().pending.len()
    }

    /// The disk a `kill -9` leaves: every write the process made survives.
    /// The returned disk is a new one; this one is left as it is (the crashed
    /// process's handle may still write to it, unseen).
    pub fn process_crash(&self) -> SimDisk {
        let view = self.lock().view.clone();
        Self::from_image(view)
    }

    /// The disk a power loss at this instant leaves (see the module docs),
    /// each unsynced change decided by `seed`; and what was done to them.
    pub fn power_loss(&self, seed: u64) -> (SimDisk, PowerLoss) {
        let state = self.lock();
        let mut image = state.durable.clone();
        let mut rng = SeededRng::new(seed);
        let mut what = PowerLoss::default();
        for change in &state.pending {
            match rng.below(3) {
                0 => what.dropped += 1,
                1 => {
                    what.kept += 1;
                    apply(&mut image, change);
                }
                _ => match change {
                    Pending::Write { offset, data } if data.len() > SECTOR => {
                        what.torn += 1;
                        let sectors = data.len().div_ceil(SECTOR);
                        let cut = usize::try_from(rng.below(sectors as u64))
                            .unwrap_or(0)
                            .saturating_mul(SECTOR);
                        let mut torn = data.clone();
                        for byte in &mut torn[cut..] {
                            *byte = rng.byte();
                        }
                        apply(
                            &mut image,
                            &Pending::Write {
                                offset: *offset,
                                data: torn,
                            },
                        );
                    }
                    // A small write or a resize is atomic: kept whole.
                    _ => {
                        what.kept += 1;
                        apply(&mut image, change);
                    }
                },
            }
        }
        (Self::from_image(image), what)
    }

    fn from_image(image: Vec<u8>) -> SimDisk {
        Self {
            state: Arc::new(Mutex::new(DiskState {
                durable: image.clone(),
                view: image,
                ..DiskState::default()
            })),
        }
    }
}

/// Applies one change to an image.
fn apply(image: &mut Vec<u8>, change: &Pending) {
    match change {
        Pending::SetLen(len) => image.resize(usize::try_from(*len).unwrap_or(usize::MAX), 0),
        Pending::Write { offset, data } => {
            let start = usize::try_from(*offset).unwrap_or(usize::MAX);
            let end = start.saturating_add(data.len());
            if image.len() < end {
                image.resize(end, 0);
            }
            image[start..end].copy_from_slice(data);
        }
    }
}

impl DiskState {
    /// Counts one operation against a planned power cut; an error once the
    /// power is out.
    fn spend_power(&mut self) -> Result<(), io::Error> {
        match &mut self.power_left {
            Some(0) => Err(io::Error::other("the power is out (simulated)")),
            Some(left) => {
                *left -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }
}

fn full_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::StorageFull,
        "No space left on device (simulated)",
    )
}

impl StorageBackend for SimDisk {
    fn len(&self) -> Result<u64, io::Error> {
        Ok(self.lock().view.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), io::Error> {
        let state = self.lock();
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        let end = start.saturating_add(out.len());
        let bytes = state
            .view
            .get(start..end)
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        out.copy_from_slice(bytes);
        Ok(())
    }

    fn set_len(&self, len: u64) -> Result<(), io::Error> {
        let mut state = self.lock();
        state.spend_power()?;
        if state.full && len > state.view.len() as u64 {
            return Err(full_error());
        }
        let change = Pending::SetLen(len);
        apply(&mut state.view, &change);
        state.pending.push(change);
        Ok(())
    }

    fn sync_data(&self) -> Result<(), io::Error> {
        let mut state = self.lock();
        state.spend_power()?;
        state.durable = state.view.clone();
        state.pending.clear();
        state.syncs += 1;
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> Result<(), io::Error> {
        let mut state = self.lock();
        state.spend_power()?;
        if state.full {
            return Err(full_error());
        }
        let change = Pending::Write {
            offset,
            data: data.to_vec(),
        };
        apply(&mut state.view, &change);
        state.pending.push(change);
        Ok(())
    }
}

/// splitmix64: a seeded generator with no dependency, the same on every
/// platform and version, so that a seed replays (the simulator draws from it
/// too).
#[derive(Debug, Clone)]
pub struct SeededRng(u64);

impl SeededRng {
    /// The generator for `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.next()
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    /// `true` with a chance of `percent` in 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn byte(&mut self) -> u8 {
        self.next().to_le_bytes()[0]
    }
}
