# Sourced by the scripts that build: shared build settings for a lean, fast build.
# Link with mold when it is installed (much faster links of the AWS SDK); plain cc otherwise.
if command -v mold >/dev/null 2>&1 && [ "$(uname -m)" = x86_64 ]; then
  export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C link-arg=-fuse-ld=mold"
fi
