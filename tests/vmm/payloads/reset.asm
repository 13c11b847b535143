; Real mode: print a line, then pulse the reset line through the i8042
; (command 0xfe on port 0x64), as Linux's reboot=k does.
bits 16
%include "defs.inc"
start:
    mov ax, cs
    mov ds, ax
    mov si, msg
    mov dx, COM1
.next:
    lodsb
    test al, al
    jz .done
    out dx, al
    jmp .next
.done:
    mov al, 0xfe
    out I8042_CMD, al
.hang:
    jmp .hang
msg: db "resetting", 10, 0
