//! QR codes drawn on the host as one SVG path, so the browser's bundle carries no encoder.

use qrcode::{Color, EcLevel, QrCode};

use crate::model::QrDrawing;

/// The white margin around a code, in modules: the four the QR standard asks for.
const QUIET_ZONE: u32 = 4;

/// `text` as a QR code (error correction level M: a code still reads with some of it smudged
/// or covered), drawn as horizontal runs of dark modules, quiet zone included.
pub fn draw(text: &str) -> Result<QrDrawing, qrcode::types::QrError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)?;
    let width = code.width();
    let colors = code.to_colors();
    let mut path = String::new();
    for (y, row) in colors.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if row[x] == Color::Light {
                x += 1;
                continue;
            }
            let start = x;
            while x < width && row[x] == Color::Dark {
                x += 1;
            }
            let (left, top, run) = (start as u32 + QUIET_ZONE, y as u32 + QUIET_ZONE, x - start);
            path.push_str(&format!("M{left} {top}h{run}v1h-{run}z"));
        }
    }
    Ok(QrDrawing { size: width as u32 + 2 * QUIET_ZONE, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_its_modules_inside_the_quiet_zone() {
        let address = "7xKXtg2CW87d97TXJSDpbD5jBkheTqA83TZRuJosgAsU";
        let drawing = draw(address).unwrap();
        // 44 bytes at level M need version 4 (version 3 holds 42): 33 modules a side.
        assert_eq!(drawing.size, 33 + 2 * QUIET_ZONE);
        // The finder patterns' top rows: 7 dark modules at the quiet zone's corner, and as
        // many at the right edge, on the same row.
        assert!(drawing.path.starts_with("M4 4h7v1h-7z"), "{}", &drawing.path[..60]);
        assert!(drawing.path.contains("M30 4h7v1h-7z"), "{}", &drawing.path[..120]);
        // Every run lies inside the code.
        for run in drawing.path.split('z').filter(|run| !run.is_empty()) {
            let (start, rest) = run.trim_start_matches('M').split_once('h').unwrap();
            let (x, y) = start.split_once(' ').unwrap();
            let (x, y): (u32, u32) = (x.parse().unwrap(), y.parse().unwrap());
            let length: u32 = rest.split_once('v').unwrap().0.parse().unwrap();
            assert!(x >= QUIET_ZONE && x + length <= drawing.size - QUIET_ZONE, "{run}");
            assert!(y >= QUIET_ZONE && y < drawing.size - QUIET_ZONE, "{run}");
        }
        assert_ne!(draw("another text").unwrap().path, drawing.path);
    }
}
