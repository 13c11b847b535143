; Real mode: write a counter digit and a newline to COM1 forever, with a short
; busy wait between lines, so a test can watch output stop while paused.
bits 16
%include "defs.inc"
start:
    mov ax, cs
    mov ds, ax
    mov al, 0x10
    out DEBUGPORT, al
    xor bx, bx
.line:
    mov dx, COM1
    mov al, bl
    and al, 7
    add al, '0'
    out dx, al
    mov al, 10
    out dx, al
    inc bx
    mov cx, 0x2000
.wait:
    dec cx
    jnz .wait
    jmp .line
