#!/usr/bin/env bash
# Builds the low-quality HLS sample input docs/sample/hls/ from OpenCV's vtest.avi
# (Debian package opencv-doc 4.6.0+dfsg-12, examples/data/vtest.avi, 768x576, 10 fps;
# licence Apache-2.0 AND BSD-3-Clause per debian/copyright; see README.md).
#
#   docs/sample/make-sample.sh [path/to/vtest.avi]
#
# Without an argument it uses an extracted opencv-doc under $OPENCV_DOC_DIR (default
# /tmp/debs/x/usr/share/doc/opencv-doc) or fetches the .deb with `apt-get download`.
# What it makes: the first 6 s (60 frames at vtest's native 10 fps), downscaled to half size
# (384x288), blurred a little, with light grain, compressed hard with x264 (90 kb/s), a quiet
# generated 220 Hz AAC tone as the audio track, MPEG-TS segments of 2 s with an IDR frame at
# each segment start, a media playlist and the multivariant playlist hls/index.m3u8.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v ffmpeg >/dev/null || { echo "make-sample: ffmpeg not found on PATH" >&2; exit 1; }

src="${1:-}"
if [ -z "$src" ]; then
  doc_dir="${OPENCV_DOC_DIR:-/tmp/debs/x/usr/share/doc/opencv-doc}"
  if [ ! -f "$doc_dir/examples/data/vtest.avi" ]; then
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    # Only vtest.avi is taken out of the 96 MB package.
    (cd "$work" && apt-get download opencv-doc=4.6.0+dfsg-12 >/dev/null &&
      dpkg-deb --fsys-tarfile opencv-doc_4.6.0+dfsg-12_all.deb |
      tar -x ./usr/share/doc/opencv-doc/examples/data/vtest.avi)
    doc_dir="$work/usr/share/doc/opencv-doc"
  fi
  src="$doc_dir/examples/data/vtest.avi"
fi
[ -f "$src" ] || { echo "make-sample: source clip $src does not exist" >&2; exit 1; }

fps=10
seconds=6
seg=2
out="$here/hls"
rm -rf "$out" && mkdir -p "$out/384x288"

# Fixed seeds (noise, x264 single thread) so reruns give the same bytes with the same ffmpeg.
ffmpeg -hide_banner -loglevel error -y \
  -i "$src" \
  -f lavfi -i "sine=frequency=220:sample_rate=48000:duration=${seconds},volume=0.05" \
  -map 0:v -map 1:a -t "$seconds" \
  -vf "fps=${fps},scale=384:288:flags=area,gblur=sigma=0.7,noise=alls=6:allf=t:all_seed=7,format=yuv420p" \
  -c:v libx264 -preset medium -profile:v high -threads 1 \
  -b:v 90k -maxrate 120k -bufsize 180k \
  -g $((fps * seg)) -keyint_min $((fps * seg)) -sc_threshold 0 -x264-params "scenecut=0:open_gop=0" \
  -force_key_frames "expr:gte(t,n_forced*${seg})" \
  -c:a aac -b:a 48k -ac 1 -ar 48000 \
  -fflags +bitexact -flags:v +bitexact -flags:a +bitexact -map_metadata -1 \
  -f hls -hls_time "$seg" -hls_list_size 0 -hls_playlist_type vod -hls_flags independent_segments \
  -hls_segment_type mpegts -hls_segment_filename "$out/384x288/seg_%03d.ts" \
  "$out/384x288/media.m3u8"

# BANDWIDTH: peak segment bit rate; AVERAGE-BANDWIDTH: total bits / total duration.
read -r peak avg < <(awk -v dir="$out/384x288" '
  /^#EXTINF:/ { sub(/^#EXTINF:/, ""); sub(/,.*/, ""); d = $0; next }
  /^[^#]/ {
    cmd = "stat -c %s \"" dir "/" $0 "\""; cmd | getline size; close(cmd)
    rate = size * 8 / d; if (rate > peak) peak = rate
    bits += size * 8; total += d
  }
  END { printf "%d %d\n", peak + 0.5, bits / total + 0.5 }
' "$out/384x288/media.m3u8")
first="$out/384x288/seg_000.ts"
level=$(ffprobe -v error -select_streams v:0 -show_entries stream=level -of csv=p=0 "$first" | grep -m1 .)
codecs=$(printf 'avc1.6400%02x,mp4a.40.2' "$level")

cat > "$out/index.m3u8" <<EOF
#EXTM3U
#EXT-X-VERSION:3
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-STREAM-INF:BANDWIDTH=${peak},AVERAGE-BANDWIDTH=${avg},RESOLUTION=384x288,CODECS="${codecs}",FRAME-RATE=${fps}.000
384x288/media.m3u8
EOF
du -sh "$out" | sed 's/^/make-sample: /'
