/**
 * Documents made on the spot for tests and benchmarks: a real PDF of N pages of text
 * (written by hand to the PDF 1.4 spec: catalog, pages, Helvetica, one content stream per
 * page, an exact xref table), and a real DOCX (a zip with the WordprocessingML parts,
 * stored uncompressed), plus a DOCX zip bomb whose central directory promises gigabytes.
 */
function crc32(bytes: Uint8Array): number {
  let crc = ~0;
  for (const b of bytes) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return ~crc >>> 0;
}

/**
 * A real PDF of `pages` pages of text (`linesPerPage` 0: pages without any text, like a
 * scan without its text layer); `lineOf` writes each line (default: a numbered pangram).
 */
export function makePdf(pages: number, linesPerPage = 40, lineOf?: (page: number, line: number) => string): Uint8Array {
  const objects: string[] = [];
  const add = (body: string) => objects.push(body) ; // object number = index + 1
  add('<< /Type /Catalog /Pages 2 0 R >>');
  add(''); // pages, filled in below
  add('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>');
  const kids: number[] = [];
  for (let p = 1; p <= pages; p++) {
    const say = (i: number) => (lineOf ? lineOf(p, i + 1) : `Page ${p} line ${i + 1}: the quick brown fox jumps over the lazy dog.`).replace(/[()\\]/g, '');
    const lines = Array.from({ length: linesPerPage }, (_, i) => `(${say(i)}) Tj T*`);
    const stream = `BT /F1 10 Tf 12 TL 50 780 Td ${lines.join(' ')} ET`;
    add(`<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`);
    const contents = objects.length;
    add(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${contents} 0 R >>`);
    kids.push(objects.length);
  }
  return serialize(objects, kids);
}

/**
 * A scan as a scanner writes it: each page one image (an RGB XObject, no text at all).
 * The pixels are printable ASCII bytes so the file can be built as a string.
 */
export function makeScannedPdf(pages: number, width = 16, height = 12): Uint8Array {
  const objects: string[] = [];
  const add = (body: string) => objects.push(body);
  add('<< /Type /Catalog /Pages 2 0 R >>');
  add('');
  const kids: number[] = [];
  for (let p = 1; p <= pages; p++) {
    const pixels = Array.from({ length: width * height * 3 }, (_, i) => String.fromCharCode(0x30 + ((i * 7 + p * 13) % 64))).join('');
    add(`<< /Type /XObject /Subtype /Image /Width ${width} /Height ${height} /ColorSpace /DeviceRGB /BitsPerComponent 8 /Length ${pixels.length} >>\nstream\n${pixels}\nendstream`);
    const image = objects.length;
    const draw = `q 612 0 0 792 0 0 cm /Im${p} Do Q`;
    add(`<< /Length ${draw.length} >>\nstream\n${draw}\nendstream`);
    const contents = objects.length;
    add(`<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /XObject << /Im${p} ${image} 0 R >> >> /Contents ${contents} 0 R >>`);
    kids.push(objects.length);
  }
  return serialize(objects, kids);
}

/** The file around a PDF's objects (object 2, the page tree, filled in from `kids`): header, xref table, trailer. */
function serialize(objects: string[], kids: number[]): Uint8Array {
  objects[1] = `<< /Type /Pages /Kids [${kids.map((k) => `${k} 0 R`).join(' ')}] /Count ${kids.length} >>`;
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new TextEncoder().encode(out);
}

function zip(files: { name: string; data: Uint8Array; claimSize?: number }[]): Uint8Array {
  const enc = new TextEncoder();
  const chunks: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const f of files) {
    const name = enc.encode(f.name);
    const crc = crc32(f.data);
    const local = new DataView(new ArrayBuffer(30));
    local.setUint32(0, 0x04034b50, true);
    local.setUint16(4, 20, true);
    local.setUint32(14, crc, true);
    local.setUint32(18, f.data.length, true);
    local.setUint32(22, f.claimSize ?? f.data.length, true);
    local.setUint16(26, name.length, true);
    chunks.push(new Uint8Array(local.buffer), name, f.data);
    const cd = new DataView(new ArrayBuffer(46));
    cd.setUint32(0, 0x02014b50, true);
    cd.setUint16(4, 20, true);
    cd.setUint16(6, 20, true);
    cd.setUint32(16, crc, true);
    cd.setUint32(20, f.data.length, true);
    cd.setUint32(24, f.claimSize ?? f.data.length, true);
    cd.setUint16(28, name.length, true);
    cd.setUint32(42, offset, true);
    central.push(new Uint8Array(cd.buffer), name);
    offset += 30 + name.length + f.data.length;
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, files.length, true);
  end.setUint16(10, files.length, true);
  end.setUint32(12, cdSize, true);
  end.setUint32(16, offset, true);
  return new Uint8Array(Buffer.concat([...chunks, ...central, new Uint8Array(end.buffer)]));
}

const CONTENT_TYPES = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`;
const RELS = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`;

export function makeDocx(paragraphs: string[]): Uint8Array {
  const enc = new TextEncoder();
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const body = paragraphs.map((p) => `<w:p><w:r><w:t>${esc(p)}</w:t></w:r></w:p>`).join('');
  const doc = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`;
  return zip([
    { name: '[Content_Types].xml', data: enc.encode(CONTENT_TYPES) },
    { name: '_rels/.rels', data: enc.encode(RELS) },
    { name: 'word/document.xml', data: enc.encode(doc) },
  ]);
}

/** A DOCX-named zip whose directory claims 4 GB per part (what a zip bomb looks like before inflating). */
export function makeZipBomb(): Uint8Array {
  const enc = new TextEncoder();
  return zip([
    { name: '[Content_Types].xml', data: enc.encode(CONTENT_TYPES) },
    { name: 'word/document.xml', data: new Uint8Array(1000), claimSize: 0xfffffff0 },
  ]);
}
