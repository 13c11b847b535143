; Real mode: mark milestone 0x42, then poll the i8042 for eight bytes (the
; control socket's "ctrl_alt_del" in scan code set 1), print each in hex on
; COM1 and power off.
bits 16
%include "defs.inc"
start:
    mov ax, cs
    mov ds, ax
    mov al, 0x42
    out DEBUGPORT, al
    mov cx, 8
.poll:
    in al, I8042_CMD
    test al, 1                                  ; output buffer full
    jz .poll
    in al, 0x60
    mov ah, al
    shr al, 4
    call hexdigit
    mov al, ah
    and al, 0x0f
    call hexdigit
    mov dx, COM1
    mov al, ' '
    cmp cx, 1
    jne .sep
    mov al, 10
.sep:
    out dx, al
    dec cx
    jnz .poll
    mov dx, PM1_CNT
    mov ax, S5_SLP_EN
    out dx, ax
.hang:
    jmp .hang
hexdigit:                                       ; print the low nibble in al
    add al, '0'
    cmp al, '9'
    jbe .out
    add al, 'a' - '9' - 1
.out:
    mov dx, COM1
    out dx, al
    ret
