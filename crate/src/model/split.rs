//! GGUF split files: one model stored as `NAME-00001-of-0000N.gguf` … `NAME-0000N-of-0000N.gguf`
//! (llama.cpp's `gguf-split`, the `gguf` package's writer with `split_max_tensors`/`size`).
//!
//! Every file is a complete GGUF file with its own header and tensors; the first one holds the
//! model's metadata, and each carries `split.no` (0-based), `split.count` and
//! `split.tensors.count` (the tensors of all files together). The loader reads the files in
//! order as one stream of tensors; this module only reads and checks those keys and names the
//! files.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::gguf::GgufFile;

/// Where one file sits in a split model; an unsplit file is file 0 of 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitInfo {
    /// 0-based index of this file.
    pub no: u32,
    /// Number of files.
    pub count: u32,
    /// Tensors in all files together.
    pub tensors: u64,
}

impl SplitInfo {
    /// The split keys of a file, or "file 0 of 1" for an unsplit file.
    pub fn of(file: &GgufFile) -> Result<SplitInfo> {
        let m = &file.metadata;
        let count = m.opt_u32("split.count")?.unwrap_or(1);
        let info = SplitInfo {
            no: m.opt_u32("split.no")?.unwrap_or(0),
            count,
            tensors: match m.get("split.tensors.count") {
                Some(_) => m.get_u64("split.tensors.count")?,
                None => file.tensors.len() as u64,
            },
        };
        if count == 0 || info.no >= count {
            return Err(Error::InvalidModel(format!("split.no {} with split.count {count}", info.no)));
        }
        Ok(info)
    }

    /// Checks that `self` (read from the `index`th file given) continues the model whose first
    /// file is `first`.
    pub fn check_follows(&self, first: &SplitInfo, index: u32) -> Result<()> {
        if self.count != first.count || self.tensors != first.tensors {
            return Err(Error::InvalidModel(format!(
                "file {} belongs to another model: {} files and {} tensors, the first file says {} and {}",
                index + 1,
                self.count,
                self.tensors,
                first.count,
                first.tensors
            )));
        }
        if self.no != index {
            return Err(Error::InvalidModel(format!(
                "file {} of the split model is part {} of {}: give the files in order",
                index + 1,
                self.no + 1,
                self.count
            )));
        }
        Ok(())
    }
}

/// The `(n, count)` of a split file name `…-0000n-of-0000N.gguf` (1-based, as in the name).
pub fn parse_split_name(name: &str) -> Option<(u32, u32)> {
    let stem = name.strip_suffix(".gguf")?;
    let (rest, count) = stem.rsplit_once("-of-")?;
    let (_, n) = rest.rsplit_once('-')?;
    let digits = |s: &str| s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(n) || !digits(count) {
        return None;
    }
    let (n, count) = (n.parse().ok()?, count.parse().ok()?);
    (1..=count).contains(&n).then_some((n, count))
}

/// All files of a split model in order, given any one of them; `None` when `path` does not
/// have a split file's name (then it is a model on its own).
pub fn split_paths(path: &Path) -> Option<Vec<PathBuf>> {
    let name = path.file_name()?.to_str()?;
    let (n, count) = parse_split_name(name)?;
    let prefix = name.strip_suffix(&format!("-{n:05}-of-{count:05}.gguf"))?;
    Some((1..=count).map(|i| path.with_file_name(format!("{prefix}-{i:05}-of-{count:05}.gguf"))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_names() {
        assert_eq!(parse_split_name("m-00002-of-00003.gguf"), Some((2, 3)));
        assert_eq!(parse_split_name("m-00004-of-00003.gguf"), None);
        assert_eq!(parse_split_name("m-0002-of-00003.gguf"), None);
        assert_eq!(parse_split_name("model.gguf"), None);
        let paths = split_paths(Path::new("/d/a-b-00003-of-00003.gguf")).unwrap();
        assert_eq!(
            paths,
            ["/d/a-b-00001-of-00003.gguf", "/d/a-b-00002-of-00003.gguf", "/d/a-b-00003-of-00003.gguf"]
                .map(PathBuf::from)
        );
        assert_eq!(split_paths(Path::new("/d/model.gguf")), None);
    }
}
